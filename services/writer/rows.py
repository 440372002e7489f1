"""Decode step: a Kafka message value → one row of its ClickHouse table.

Each topic family has one decoder; a decoder raises ``Undecodable`` with the reason, and the
pipeline sends the message to the dead-letter topic instead of stopping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from thidua.contracts.events import CanonicalEvent, entity_key, unit_of
from thidua.decode import Envelope, Refused, decode


class Undecodable(ValueError):
    """The message cannot become a row; ``str(exc)`` is the dead-letter reason."""


@dataclass(frozen=True, slots=True, eq=False)  # (three constants: hashed by identity, fast)
class TableSpec:
    table: str
    columns: tuple[str, ...]


EVENTS_RAW = TableSpec(
    "events_raw", ("source", "id", "type", "time", "seq", "entity_key", "unit_id", "data")
)
KPI_COUNTERS = TableSpec(
    "kpi_counters", ("unit_id", "measure", "day", "partition", "value", "version")
)
ALERTS = TableSpec(
    "alerts",
    ("fingerprint", "rule", "unit_id", "criterion", "state", "severity", "summary", "labels",
     "starts_at", "ends_at", "updated_at"),
)  # fmt: skip


# What ClickHouse can store: DateTime64 spans 1900–2299, Date 1970–2149. A value outside would
# fail its insert forever and block every later message, so it is dead-lettered instead.
_DATETIME_YEARS = range(1900, 2300)
_DATE_YEARS = range(1970, 2150)


def _utc(moment: datetime) -> datetime:
    if moment.year not in _DATETIME_YEARS:
        raise Undecodable(f"time {moment.isoformat()} is outside 1900–2299")
    return moment.astimezone(UTC)


def event_row(event: CanonicalEvent) -> list[Any]:
    return envelope_row(Envelope.of(event), event.data)


def envelope_row(event: Envelope, data: dict[str, Any]) -> list[Any]:
    return [
        event.source, event.id, event.type.value, _utc(event.time), event.seq,
        entity_key(event.type, data), unit_of(data), orjson.dumps(data).decode(),
    ]  # fmt: skip


def decode_event(raw: bytes) -> tuple[Envelope, list[Any]]:
    """Validated as scoring validates it (one pass, envelope and data: ingest validated it, and
    a record that bypassed ingest must not land); the data stored as validated."""
    try:
        envelope, data = decode(raw)
    except Refused as refused:
        raise Undecodable(f"not a canonical event: {refused.cause}") from refused
    return envelope, envelope_row(envelope, data)


class CounterMessage(BaseModel):
    """A ``kpi-counters`` value: the absolute value of one (unit, measure, day, partition)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    unit_id: str = Field(min_length=1)
    measure: str = Field(min_length=1)
    day: date
    partition: int = Field(ge=0, le=65535)
    value: float = Field(allow_inf_nan=False)


# The model's validator without ``model_validate_json``'s wrapper (a third of its time).
_COUNTER = CounterMessage.__pydantic_validator__


def decode_counter(raw: bytes, offset: int) -> tuple[CounterMessage, list[Any]]:
    """The message offset is the row version: the latest absolute value wins in FINAL."""
    try:
        msg: CounterMessage = _COUNTER.validate_json(raw)
    except ValidationError as exc:
        raise Undecodable(f"not a kpi counter: {exc}") from exc
    if msg.day.year not in _DATE_YEARS:
        raise Undecodable(f"counter day {msg.day} is outside 1970–2149")
    return msg, [msg.unit_id, msg.measure, msg.day, msg.partition, msg.value, offset]


def decode_counter_tombstone(key: bytes | None, offset: int) -> tuple[CounterMessage, list[Any]]:
    """A compaction tombstone: the counter keyed ``unit_id|measure|day|partition`` is 0."""
    try:
        unit_id, measure, day, partition = (key or b"").decode().rsplit("|", 3)
        msg = CounterMessage(
            unit_id=unit_id, measure=measure, day=date.fromisoformat(day),
            partition=int(partition), value=0.0,
        )  # fmt: skip
    except (UnicodeDecodeError, ValueError) as exc:
        raise Undecodable(f"counter tombstone with a bad key {key!r}: {exc}") from exc
    return msg, [msg.unit_id, msg.measure, msg.day, msg.partition, 0.0, offset]


class AlertMessage(BaseModel):
    """An ``alerts`` value, as notify publishes it (one per (rule, unit, criterion) state
    change; ``fingerprint`` identifies the alert, ``updated_at`` orders its versions)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    fingerprint: str = Field(min_length=1)
    rule: str
    unit_id: str = ""
    criterion: str = ""
    state: str = Field(min_length=1)  # "pending" | "firing" | "resolved" (Alertmanager's words)
    severity: str = "warning"
    summary: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    updated_at: AwareDatetime


def decode_alert(raw: bytes) -> tuple[AlertMessage, list[Any]]:
    try:
        msg = AlertMessage.model_validate_json(raw)
    except ValidationError as exc:
        raise Undecodable(f"not an alert: {exc}") from exc
    row = [
        msg.fingerprint, msg.rule, msg.unit_id, msg.criterion, msg.state, msg.severity,
        msg.summary, orjson.dumps(msg.labels).decode(), _utc(msg.starts_at),
        _utc(msg.ends_at) if msg.ends_at else None, _utc(msg.updated_at),
    ]  # fmt: skip
    return msg, row
