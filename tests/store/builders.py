"""Hand-written raw events and counters for store tests."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from services.writer.rows import EVENTS_RAW, KPI_COUNTERS, event_row
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.periods import LOCAL_TZ

_seq = itertools.count(1_000)


def at(text: str) -> datetime:
    """'2025-03-01 10:00' local (+07:00), or an ISO string with its own offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def event(
    type_: EventType, when: str, data: dict[str, Any], *, id: str | None = None,
    source: str = "test", seq: int | None = None,
) -> CanonicalEvent:  # fmt: skip
    number = next(_seq) if seq is None else seq
    return CanonicalEvent(
        source=source, id=id or f"e{number}", type=type_, time=at(when), seq=number, data=data
    )


def unit(unit_id: str, when: str = "2021-01-01", *, tier: str = "province_agency",
         active: bool = True, block: str | None = None, name: str | None = None,
         successor: str | None = None, **kw: Any) -> CanonicalEvent:  # fmt: skip
    data = {"unit_id": unit_id, "name": name or f"Đơn vị {unit_id}", "tier": tier,
            "active": active, "block": block, "parent_id": None, "organ_ids": [],
            "successor_id": successor}  # fmt: skip
    return event(EventType.UNIT_UPSERTED, when, data, **kw)


def insert_events(client: Client, *events: CanonicalEvent) -> None:
    client.insert(
        EVENTS_RAW.table, [event_row(e) for e in events], column_names=list(EVENTS_RAW.columns)
    )


def insert_counters(client: Client, *rows: tuple[str, str, date | str, float], partition: int = 0,
                    version: int = 1) -> None:  # fmt: skip
    """(unit_id, measure, day, value) rows."""
    values = [
        [u, m, date.fromisoformat(d) if isinstance(d, str) else d, partition, v, version]
        for u, m, d, v in rows
    ]
    client.insert(KPI_COUNTERS.table, values, column_names=list(KPI_COUNTERS.columns))


def days(start: str, count: int) -> list[date]:
    first = date.fromisoformat(start)
    return [first + timedelta(days=i) for i in range(count)]
