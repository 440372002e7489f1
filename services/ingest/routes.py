"""HTTP handlers: thin — read the body within limits, hand it to an adapter, deliver.

Every request is judged whole before anything is produced: 401 → 415 → 413 (bytes) → 400 →
413 (events) → 403 → 422 → 429/503 → 202.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.ingest import cloudevents, edxml, metrics, xapi
from services.ingest.auth import SourceSystem
from services.ingest.cloudevents import MalformedRequest, PendingEvent, Problem, media_type
from services.ingest.errors import RESPONSES, Refused
from services.ingest.openapi_docs import EDXML_BODY, EVENTS_BODY, XAPI_BODY
from services.ingest.state import IngestState
from thidua.contracts.events import EventType

router = APIRouter(prefix="/v1", tags=["ingest"])
_bearer = HTTPBearer(auto_error=False, description="the source system's token")
_KNOWN_TYPES = frozenset(t.value for t in EventType)
# Bodies above this are parsed and validated on a worker thread: a large batch or a deep XML
# document would otherwise hold the event loop (every other request) for its whole parse.
OFF_LOOP_BYTES = 64 * 1024
T = TypeVar("T")


async def _off_loop(size: int, call: Callable[..., T], *args: Any) -> T:
    if size <= OFF_LOOP_BYTES:
        return call(*args)
    return await asyncio.to_thread(call, *args)


class Accepted(BaseModel):
    accepted: int = Field(description="events acknowledged by Kafka")


class XapiAccepted(Accepted):
    ignored: int = Field(description="statements valid but not mapped to a training event")


def _state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state


async def source_system(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SourceSystem:
    # async: a plain ``def`` dependency would hop to the thread pool on every request.
    system = _state(request).auth.identify(request.headers.get("authorization"))
    if system is None:
        raise Refused(401, "a valid bearer token is required (Authorization: Bearer …)")
    return system


Source = Annotated[SourceSystem, Depends(source_system)]


async def read_body(request: Request, system: SourceSystem) -> bytes:
    limit = _state(request).settings.ingest_max_body_bytes
    declared = request.headers.get("content-length", "")
    too_large = Refused(413, f"body over {limit} bytes", source=system.name)
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _check_count(request: Request, count: int, system: SourceSystem) -> None:
    limit = _state(request).settings.ingest_max_events
    if count > limit:
        raise Refused(413, f"{count} events over the limit of {limit}", source=system.name)


def _check_permissions(envelopes: list[Any], system: SourceSystem) -> None:
    # A batch repeats a few types and sources: each distinct value is matched once.
    may_send: dict[str, bool] = {}
    may_use: dict[str, bool] = {}
    problems = []
    for index, envelope in enumerate(envelopes):
        if not isinstance(envelope, dict):
            continue
        event_type, source = envelope.get("type"), envelope.get("source")
        if isinstance(event_type, str) and event_type in _KNOWN_TYPES:
            allowed = may_send.get(event_type)
            if allowed is None:
                allowed = may_send[event_type] = system.may_send(event_type)
            if not allowed:
                problems.append(Problem(index, f"{system.name} may not send {event_type}"))
        if isinstance(source, str):
            allowed = may_use.get(source)
            if allowed is None:
                allowed = may_use[source] = system.may_use_source(source)
            if not allowed:
                problems.append(Problem(index, f"{system.name} may not send as source {source!r}"))
    if problems:
        raise Refused(403, "forbidden for this token", problems, system.name, _types(envelopes))


def _types(envelopes: list[Any]) -> list[str]:
    """Each envelope's type as a metric label (bounded: unknown or malformed → 'unknown')."""
    types = []
    for envelope in envelopes:
        event_type = envelope.get("type") if isinstance(envelope, dict) else None
        types.append(
            event_type if isinstance(event_type, str) and event_type in _KNOWN_TYPES else "unknown"
        )
    return types


def _refuse_invalid(problems: list[Problem], system: SourceSystem, types: list[str]) -> Refused:
    return Refused(
        422, f"{len(problems)} invalid event(s); nothing accepted", problems, system.name, types
    )


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    responses=RESPONSES,
    summary="CloudEvents 1.0: structured, batch or binary mode",
    openapi_extra=EVENTS_BODY,
)
async def post_events(request: Request, system: Source) -> Accepted:
    content_type = media_type(request.headers.get("content-type"))
    if content_type not in (cloudevents.STRUCTURED, cloudevents.BATCH) and not (
        content_type == "application/json" or content_type.endswith("+json")
    ):
        raise Refused(415, f"unsupported Content-Type {content_type[:100]!r}", source=system.name)
    body = await read_body(request, system)
    try:
        if content_type == cloudevents.STRUCTURED:
            envelopes = cloudevents.parse_structured(body)
        elif content_type == cloudevents.BATCH:
            envelopes = await _off_loop(len(body), cloudevents.parse_batch, body)
        else:
            envelopes = [cloudevents.binary_envelope(request.headers, body, content_type)]
    except MalformedRequest as exc:
        raise Refused(400, str(exc), source=system.name) from None
    _check_count(request, len(envelopes), system)
    _check_permissions(envelopes, system)
    events, problems = await _off_loop(len(body), cloudevents.validate_all, envelopes)
    if problems:
        raise _refuse_invalid(problems, system, _types(envelopes))
    return Accepted(accepted=await _state(request).deliver(events, system.name))


@router.post(
    "/xapi/statements",
    status_code=202,
    response_model=XapiAccepted,
    responses=RESPONSES,
    summary="xAPI 1.0.3 statements (one or an array) from an LMS",
    openapi_extra=XAPI_BODY,
)
async def post_xapi_statements(request: Request, system: Source) -> XapiAccepted:
    if not system.xapi:
        raise Refused(403, f"{system.name} may not send xAPI statements", source=system.name)
    content_type = media_type(request.headers.get("content-type"))
    if content_type != "application/json":
        raise Refused(415, "xAPI statements are sent as application/json", source=system.name)
    body = await read_body(request, system)
    try:
        xapi.check_version(request.headers.get(xapi.VERSION_HEADER))
        statements = await _off_loop(len(body), xapi.parse_statements, body)
    except MalformedRequest as exc:
        raise Refused(400, str(exc), source=system.name) from None
    _check_count(request, len(statements), system)
    result = await _off_loop(
        len(body), xapi.to_events, statements, _state(request).activities, f"/xapi/{system.name}"
    )
    if result.problems:
        types = [EventType.TRAINING_COMPLETED.value] * len(statements)
        raise _refuse_invalid(result.problems, system, types)
    accepted = await _state(request).deliver(result.events, system.name)
    metrics.XAPI_IGNORED.labels(system.name).inc(result.ignored)
    return XapiAccepted(accepted=accepted, ignored=result.ignored)


@router.post(
    "/edxml",
    status_code=202,
    response_model=Accepted,
    responses=RESPONSES,
    summary="edXML message (QCVN 102:2016/BTTTT) → document sent",
    openapi_extra=EDXML_BODY,
)
async def post_edxml(request: Request, system: Source) -> Accepted:
    if not system.edxml:
        raise Refused(403, f"{system.name} may not send edXML", source=system.name)
    content_type = media_type(request.headers.get("content-type"))
    if not (content_type in ("application/xml", "text/xml") or content_type.endswith("+xml")):
        raise Refused(415, "edXML is sent as application/xml", source=system.name)
    body = await read_body(request, system)
    type_names = [EventType.DOCUMENT_SENT.value]
    try:
        message = await asyncio.to_thread(edxml.parse_message, body)  # XML: always off the loop
    except MalformedRequest as exc:
        raise Refused(400, str(exc), source=system.name, types=type_names) from None
    if isinstance(message, Problem):
        raise _refuse_invalid([message], system, type_names)
    state = _state(request)
    if state.registry is None:
        raise Refused(503, "ingest is starting: unit registry not loaded", source=system.name)
    # Only the sender decides the score (C11 counts from_unit); recipients outside the province
    # are common and must not make every message wait for the registry.
    organ_units = await state.registry.resolve(
        (message.from_organ,), state.settings.ingest_registry_wait_seconds
    )
    event: PendingEvent | Problem = edxml.to_event(message, organ_units, f"/edxml/{system.name}")
    if isinstance(event, Problem):
        raise _refuse_invalid([event], system, type_names)
    return Accepted(accepted=await state.deliver([event], system.name))
