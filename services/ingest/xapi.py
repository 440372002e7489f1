"""xAPI 1.0.3 statements from an LMS → ``vn.thidua.training.completed``.

A statement counts when its verb is ADL ``completed`` or ``passed`` and its object is an
activity that ``config/xapi-activities.yaml`` maps to a program; ``actor.account.name`` is the
staff_id. Every other well-formed statement is accepted and ignored (and counted).

The canonical event's ``id`` is the statement id (an LMS resending a statement resends its id,
so the resend has no effect downstream); ``time`` is the statement ``timestamp``, or, as xAPI
§2.4.7 says an LRS does when it is absent, the moment it is received.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from services.ingest.cloudevents import MalformedRequest, PendingEvent, Problem, parse_time
from thidua.contracts.events import EventType, Program, time_problem

COUNTED_VERBS = frozenset(
    {"http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"}
)
VERSION_HEADER = "X-Experience-API-Version"
_VERSION = re.compile(r"^1\.0(\.\d+)?$")
# Resends without an id must map to the same event id: derive it from the statement itself.
_ID_NAMESPACE = uuid.UUID("7f1c8a52-4d0b-4e45-9a38-3c1f7c1f4b7e")


@dataclass(frozen=True)
class XapiResult:
    events: list[PendingEvent]
    problems: list[Problem]
    ignored: int


def load_activity_map(path: Path) -> dict[str, Program]:
    """``activities: {<activity IRI>: <program>}`` → a dict; an unknown program is an error."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    activities = document.get("activities", {}) if isinstance(document, dict) else {}
    if not isinstance(activities, dict):
        raise ValueError(f"{path}: 'activities' must map activity IRIs to programs")
    return {str(iri): Program(str(program)) for iri, program in activities.items()}


def check_version(header: str | None) -> None:
    if header is None:
        raise MalformedRequest(f"the {VERSION_HEADER} header is required (1.0.3)")
    if not _VERSION.match(header.strip()):
        raise MalformedRequest(f"{VERSION_HEADER} {header[:20]!r} is not supported; send 1.0.3")


def parse_statements(body: bytes) -> list[Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from None
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return document
    raise MalformedRequest("send one xAPI statement (an object) or an array of statements")


def _statement_reasons(statement: dict[str, Any]) -> list[str]:
    reasons = []
    if not isinstance(statement.get("actor"), dict):
        reasons.append("actor is required (an object)")
    verb = statement.get("verb")
    if not isinstance(verb, dict) or not isinstance(verb.get("id"), str) or not verb["id"]:
        reasons.append("verb.id is required (an IRI)")
    target = statement.get("object")
    if not isinstance(target, dict):
        reasons.append("object is required (an object)")
    elif target.get("objectType", "Activity") == "Activity" and not isinstance(
        target.get("id"), str
    ):
        reasons.append("object.id is required for an Activity")
    if "id" in statement and not _is_uuid(statement["id"]):
        reasons.append("id must be a UUID")
    return reasons


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def to_events(
    statements: list[Any],
    activities: dict[str, Program],
    source: str,
    received_at: datetime | None = None,
) -> XapiResult:
    received_at = received_at or datetime.now(UTC)
    events: list[PendingEvent] = []
    problems: list[Problem] = []
    ignored = 0
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            problems.append(Problem(index, "statement must be a JSON object"))
            continue
        reasons = _statement_reasons(statement)
        if reasons:
            problems.append(Problem(index, "; ".join(reasons)))
            continue
        target = statement["object"]
        program = activities.get(target.get("id", "")) if _is_activity(target) else None
        if statement["verb"]["id"] not in COUNTED_VERBS or program is None:
            ignored += 1
            continue
        event = _training_event(index, statement, program, source, received_at)
        if isinstance(event, Problem):
            problems.append(event)
        else:
            events.append(event)
    return XapiResult(events, problems, ignored)


def _is_activity(target: dict[str, Any]) -> bool:
    return bool(target.get("objectType", "Activity") == "Activity")


def _training_event(
    index: int, statement: dict[str, Any], program: Program, source: str, received_at: datetime
) -> PendingEvent | Problem:
    account = statement["actor"].get("account")
    staff_id = account.get("name") if isinstance(account, dict) else None
    if not isinstance(staff_id, str) or not staff_id.strip() or len(staff_id) > 200:
        return Problem(
            index, "actor.account.name (the staff_id) is required", EventType.TRAINING_COMPLETED
        )
    moment = received_at
    if "timestamp" in statement:
        try:
            moment = parse_time(statement["timestamp"])
        except ValueError as exc:
            return Problem(index, f"timestamp: {exc}", EventType.TRAINING_COMPLETED)
        late = time_problem(moment, received_at)
        if late:
            return Problem(index, f"timestamp: {late}", EventType.TRAINING_COMPLETED)
    statement_id = statement.get("id") or str(
        uuid.uuid5(_ID_NAMESPACE, orjson.dumps(statement, option=orjson.OPT_SORT_KEYS).decode())
    )
    return PendingEvent(
        source=source,
        id=str(statement_id).lower(),
        type=EventType.TRAINING_COMPLETED,
        time=moment,
        data={"staff_id": staff_id.strip(), "program": program.value},
    )
