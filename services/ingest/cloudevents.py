"""CloudEvents 1.0 over HTTP (structured, batch and binary modes) → canonical events.

Pure functions: bytes and headers in, :class:`PendingEvent` and :class:`Problem` out. A whole
request is judged before anything is produced, so a batch is all-or-nothing (SPEC §4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson
from pydantic import ValidationError

from thidua.contracts.events import EventType, entity_key, time_problem, validate_data

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
_TYPES = {t.value: t for t in EventType}
_MAX_ATTR = 500
# RFC 3339 date-time (the CloudEvents `time` type); a time zone offset is required.
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


class MalformedRequest(ValueError):
    """The request as a whole cannot be read (answered 400)."""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A valid event waiting for its ``seq`` (stamped when produced)."""

    source: str
    id: str
    type: EventType
    time: datetime
    data: dict[str, Any]

    @property
    def key(self) -> bytes:
        return entity_key(self.type, self.data).encode()


@dataclass(frozen=True, slots=True)
class Problem:
    index: int
    reason: str
    type: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from None


def parse_structured(body: bytes) -> list[Any]:
    envelope = loads(body)
    if isinstance(envelope, list):
        raise MalformedRequest(f"a JSON array needs Content-Type {BATCH}")
    if not isinstance(envelope, dict):
        raise MalformedRequest("a structured CloudEvent must be a JSON object")
    return [envelope]


def parse_batch(body: bytes) -> list[Any]:
    envelopes = loads(body)
    if not isinstance(envelopes, list):
        raise MalformedRequest("a CloudEvents batch must be a JSON array")
    return envelopes


def binary_envelope(headers: Mapping[str, str], body: bytes, content_type: str) -> dict[str, Any]:
    """Binary mode: attributes in ``ce-*`` headers (percent-encoded), ``data`` is the body."""
    envelope: dict[str, Any] = {
        name[3:].lower(): unquote(value)
        for name, value in headers.items()
        if name.lower().startswith("ce-")
    }
    if "specversion" not in envelope:
        raise MalformedRequest(
            f"send Content-Type {STRUCTURED} or {BATCH}, or binary mode with ce-* headers"
        )
    envelope["datacontenttype"] = content_type
    envelope["data"] = loads(body) if body else None
    return envelope


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("time must be an RFC 3339 string")
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError(f"time {value[:40]!r} is not RFC 3339 with a time zone offset")
    date, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # Python keeps microseconds: 6 digits after the dot
    zone = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{date}T{clock}{fraction}{zone}")


def _string_attribute(envelope: dict[str, Any], name: str, reasons: list[str]) -> str:
    value = envelope.get(name)
    if value is None:
        reasons.append(f"{name} is required")
    elif not isinstance(value, str) or not value:
        reasons.append(f"{name} must be a non-empty string")
    elif len(value) > _MAX_ATTR:
        reasons.append(f"{name} is longer than {_MAX_ATTR} characters")
    else:
        return value
    return ""


def _data_reasons(exc: ValidationError) -> list[str]:
    reasons = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"])
        reasons.append(f"data.{where}: {error['msg']}" if where else f"data: {error['msg']}")
    return reasons


def validate_envelope(
    index: int, envelope: Any, received_at: datetime | None = None
) -> PendingEvent | Problem:
    """Check one CloudEvent against SPEC §4 and §7.3; every reason found is reported, not just
    the first."""
    if not isinstance(envelope, dict):
        return Problem(index, "event must be a JSON object")
    reasons: list[str] = []
    if envelope.get("specversion") != "1.0":
        reasons.append("specversion must be '1.0'")
    event_id = _string_attribute(envelope, "id", reasons)
    source = _string_attribute(envelope, "source", reasons)
    type_name = _string_attribute(envelope, "type", reasons)
    event_type = _TYPES.get(type_name)
    if type_name and event_type is None:
        reasons.append(f"unknown type {type_name[:100]!r}")
    moment = None
    if "time" not in envelope:
        reasons.append("time is required")
    else:
        try:
            moment = parse_time(envelope["time"])
        except ValueError as exc:
            reasons.append(str(exc))
        else:
            late = time_problem(moment, received_at or datetime.now(UTC))
            if late:
                reasons.append(late)
    declared = envelope.get("datacontenttype")
    content_type = "" if declared is None else str(declared)
    if isinstance(declared, str):
        content_type = media_type(declared)
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        reasons.append(f"datacontenttype {str(declared)[:100]!r} is not a JSON media type")
    data = envelope.get("data")
    if "data_base64" in envelope:
        reasons.append("data_base64 is not supported: send data as JSON")
    elif not isinstance(data, dict):
        reasons.append("data must be a JSON object")
    elif event_type is not None:
        try:
            data = validate_data(event_type, data)
        except ValidationError as exc:
            reasons.extend(_data_reasons(exc))
    if reasons or event_type is None or moment is None or not isinstance(data, dict):
        return Problem(index, "; ".join(reasons), type_name if event_type else "")
    return PendingEvent(source=source, id=event_id, type=event_type, time=moment, data=data)


def validate_all(
    envelopes: Sequence[Any], received_at: datetime | None = None
) -> tuple[list[PendingEvent], list[Problem]]:
    received_at = received_at or datetime.now(UTC)
    events: list[PendingEvent] = []
    problems: list[Problem] = []
    for index, envelope in enumerate(envelopes):
        result = validate_envelope(index, envelope, received_at)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            events.append(result)
    return events, problems
