"""Data for the api tests, written into a real chDB the way the writer writes it: canonical
events into ``events_raw`` and per-day counters into ``kpi_counters``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from services.writer.rows import EVENTS_RAW, KPI_COUNTERS, event_row
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import CanonicalEvent, EventType, Tier
from thidua.contracts.periods import LOCAL_TZ

_seq = itertools.count(1)


def unit_event(
    unit_id: str,
    tier: str,
    *,
    name: str | None = None,
    block: str | None = None,
    active: bool = True,
    when: str = "2021-01-01T08:00:00",
    successor: str | None = None,
) -> CanonicalEvent:
    number = next(_seq)
    data = {
        "unit_id": unit_id,
        "name": name or f"Đơn vị {unit_id}",
        "tier": tier,
        "active": active,
        "block": block,
        "parent_id": None,
        "organ_ids": [],
        "successor_id": successor,
    }
    return CanonicalEvent(
        source="api-tests",
        id=f"u{number}",
        type=EventType.UNIT_UPSERTED,
        time=datetime.fromisoformat(when).replace(tzinfo=LOCAL_TZ),
        seq=number,
        data=data,
    )


def insert_units(client: Client, *events: CanonicalEvent) -> None:
    client.insert(
        EVENTS_RAW.table, [event_row(e) for e in events], column_names=list(EVENTS_RAW.columns)
    )


def insert_counters(
    client: Client, rows: list[tuple[str, str, date, float]], version: int = 1
) -> None:
    """(unit_id, measure, day, value) rows."""
    values = [[u, m, d, 0, v, version] for u, m, d, v in rows]
    client.insert(KPI_COUNTERS.table, values, column_names=list(KPI_COUNTERS.columns))


def marks(
    config: CriteriaConfig,
    unit_id: str,
    tier: Tier,
    day: date,
    ratios: dict[str, float] | None = None,
    skip: tuple[str, ...] = (),
) -> list[tuple[str, str, date, float]]:
    """Counters giving ``unit_id`` each criterion of its tier at ratio 1 (or ``ratios[id]``),
    as 100-item denominators on ``day``; ``skip`` leaves criteria without data."""
    rows = []
    for criterion in config.for_tier(tier):
        if criterion.id in skip:
            continue
        num, den = criterion.measures(tier)
        denominator = 1.0 if criterion.boolean else 100.0
        ratio = (ratios or {}).get(criterion.id, 1.0)
        rows += [(unit_id, den, day, denominator), (unit_id, num, day, ratio * denominator)]
    return rows


def insert_alert(client: Client, **fields: Any) -> None:
    now = datetime.now(UTC)
    row = {
        "fingerprint": "r|u|C",
        "rule": "flow_below_target",
        "unit_id": "P2",
        "criterion": "C03",
        "state": "firing",
        "severity": "warning",
        "summary": "C03 dưới chỉ tiêu",
        "labels": '{"tier": "province_agency"}',
        "starts_at": now,
        "ends_at": None,
        "updated_at": now,
        **fields,
    }
    client.insert("alerts", [list(row.values())], column_names=list(row))
