"""The ingest HTTP service: source systems → validated canonical events → Kafka.

Guarantees (SPEC §4):
- 202 only after Kafka acknowledged every event of the request (acks=all, idempotent
  producer); a batch is all-or-nothing; errors list every invalid event's index and reason.
- Resends by (source, id) have no effect. Ingest produces a resend like any event (with the same
  source and id); the scoring stage dedupes by (source, id) per entity in its durable Faust
  table, and the batch recompute dedupes in SQL, so the guarantee survives restarts of ingest
  and of scoring. Ingest keeps no dedupe state of its own: a cache here could only be an
  optimisation, and would be empty after a restart anyway.
- Bad input never gets a 5xx: 503 means Kafka did not acknowledge (nothing was accepted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ingest import metrics
from services.ingest.dvcqg_routes import router as dvcqg_router
from services.ingest.errors import Refused
from services.ingest.openapi_docs import extra_components, finish_document
from services.ingest.routes import router
from services.ingest.state import IngestState
from thidua.docs import serve_docs
from thidua.http_guard import BufferedBody, SecurityHeaders, header
from thidua.settings import IngestSettings

_ENDPOINTS = frozenset(
    {"/v1/events", "/v1/xapi/statements", "/v1/edxml", "/v1/dvcqg/dossiers", "/v1/dvcqg/procedures"}
)
_OVERLOADED = b'{"error":"overloaded: too many requests in flight, retry later","errors":[]}'


class LoadShedding:
    """Pure ASGI: 429 above the in-flight limit, latency histogram. It runs once the body is in
    (:class:`BufferedBody` outside it): a slow upload holds no slot."""

    def __init__(self, app: ASGIApp, max_inflight: int) -> None:
        self.app = app
        self.max_inflight = max_inflight
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        endpoint = path if path in _ENDPOINTS else "other"
        started = time.perf_counter()
        status = [500]

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        if endpoint != "other" and self.inflight >= self.max_inflight:
            metrics.EVENTS_REJECTED.labels("-", "-", "overloaded").inc()
            await send_recording(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
                }
            )
            await send_recording({"type": "http.response.body", "body": _OVERLOADED})
        else:
            self.inflight += 1
            metrics.INFLIGHT.inc()
            try:
                await self.app(scope, receive, send_recording)
            finally:
                self.inflight -= 1
                metrics.INFLIGHT.dec()
        metrics.REQUEST_SECONDS.labels(endpoint, str(status[0])).observe(
            time.perf_counter() - started
        )


def create_app(settings: IngestSettings) -> FastAPI:
    """Build the app; config files are read now (a bad one fails here), Kafka at startup."""
    state = IngestState.configure(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(state.start)
        try:
            yield
        finally:
            await asyncio.to_thread(state.stop)
            metrics.forget_this_process()

    app = FastAPI(
        title="Thi đua CĐS — ingest",
        version="1.0",
        description="Source systems push CloudEvents 1.0, xAPI 1.0.3 statements or edXML "
        "(QCVN 102:2016) messages; each is validated against SPEC §4 and produced to Kafka.",
        lifespan=lifespan,
        docs_url=None,  # served by thidua.docs, without a CDN
        redoc_url=None,
    )
    serve_docs(app)
    app.state.ingest = state
    app.include_router(router)
    app.include_router(dvcqg_router)
    app.add_exception_handler(Refused, _refused)  # type: ignore[arg-type]
    _add_operations(app, state)
    _publish_components(app)
    app.add_middleware(LoadShedding, max_inflight=settings.ingest_max_inflight)

    def known_caller(scope: Scope) -> bool:
        # Only a known token's body is read before the app runs: others get their 401 unread.
        authorization = header(scope, b"authorization")
        return (
            state.auth.identify(authorization.decode("latin-1") if authorization else None)
            is not None
        )

    app.add_middleware(
        BufferedBody,
        max_bytes=settings.ingest_max_body_bytes,
        seconds=settings.http_body_timeout_seconds,
        refuse_over_limit=False,
        content_type=b"application/json",
        admit=known_caller,
    )
    app.add_middleware(SecurityHeaders)
    return app


async def _refused(_request: Request, exc: Refused) -> JSONResponse:
    exc.record()
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    elif exc.status in (429, 503):
        headers["Retry-After"] = "1"
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _add_operations(app: FastAPI, state: IngestState) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready when Kafka answers",
        responses={503: {"description": "Kafka does not answer"}},
    )
    async def readyz() -> JSONResponse:
        ready = await state.ready()
        return JSONResponse(
            {"status": "ready" if ready else "kafka unavailable"}, status_code=200 if ready else 503
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def _publish_components(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # FastAPI caches it in app.openapi_schema
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                extra_components()
            )
            finish_document(document)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
