"""Route step: which decoder a topic's messages go through, and what a row changes.

Besides its row, a decoded message says which local day of which kind it moves, so the
refresh step re-materializes only the periods it can affect.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, NamedTuple

from services.writer import rows
from thidua.contracts.events import EventType
from thidua.contracts.periods import local_day
from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical


class Decoded(NamedTuple):
    """(A tuple: one is made per message, and a frozen dataclass costs three times as much.)"""

    table: rows.TableSpec
    row: list[Any]
    stock_day: date | None = None  # a stock counter or a registry version: periods ending later
    flow_day: date | None = None  # a flow counter: the periods containing the day


class Router:
    """Physical topic name → decoder, for one topic prefix and the flow measures."""

    def __init__(self, prefix: str, flow_measures: Collection[str]) -> None:
        self._sources = {physical(t, prefix) for t in SOURCE_TOPICS}
        self._counters = physical(Topic.KPI_COUNTERS, prefix)
        self._alerts = physical(Topic.ALERTS, prefix)
        self._flow = frozenset(flow_measures)

    @property
    def topics(self) -> list[str]:
        return sorted(self._sources | {self._counters, self._alerts})

    def decode(
        self, topic: str, offset: int, value: bytes | None, key: bytes | None = None
    ) -> Decoded:
        """The message as a row; raises ``rows.Undecodable`` with the reason."""
        if topic == self._counters:
            counter, row = (
                rows.decode_counter(value, offset)
                if value is not None
                else rows.decode_counter_tombstone(key, offset)
            )
            if counter.measure in self._flow:
                return Decoded(rows.KPI_COUNTERS, row, flow_day=counter.day)
            return Decoded(rows.KPI_COUNTERS, row, stock_day=counter.day)
        if value is None:
            raise rows.Undecodable("empty value (tombstone)")
        if topic in self._sources:
            event, row = rows.decode_event(value)
            is_unit = event.type is EventType.UNIT_UPSERTED
            return Decoded(
                rows.EVENTS_RAW, row, stock_day=local_day(event.time) if is_unit else None
            )
        if topic == self._alerts:
            _, row = rows.decode_alert(value)
            return Decoded(rows.ALERTS, row)
        raise rows.Undecodable(f"topic {topic!r} is not one the writer consumes")
