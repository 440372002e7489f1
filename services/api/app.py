"""The api's ASGI application."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api import metrics, problems
from services.api.alerts import AlertsService
from services.api.deps import require_read, require_write
from services.api.fastpath import RankingsFastPath
from services.api.routes import api_router, route_dependencies, route_templates
from services.api.routes.dashboard import STATIC_DIR
from services.api.schemas import Problem
from services.api.service import ComputePeriod, KpiService
from services.api.sse import RankingsHub
from services.api.watch import MaterializationWatcher
from thidua.contracts.plans import load_plans
from thidua.docs import document_bearer, inline_examples, operations, serve_docs
from thidua.http_guard import BufferedBody, SecurityHeaders
from thidua.settings import ApiSettings

log = logging.getLogger(__name__)
READY_SECONDS = 4.0  # the ClickHouse thread may be busy with a recompute

DESCRIPTION = """
Live scores, ranks and awards of the emulation movement *Chuyển đổi số tỉnh Tuyên Quang*
(Kế hoạch 154/KH-UBND). Values: ratios as fractions (0.8), scores 0–100 unrounded, times
RFC 3339 with the +07:00 offset. Errors are RFC 9457 problem details
(`application/problem+json`).

**Auth.** When read tokens are configured, every `/v1` read needs
`Authorization: Bearer <token>` (401 without, 403 with an unknown one); `/healthz`, `/readyz`
and `/metrics` stay open. Writes (silences, `POST /v1/recompute`) always need a *write* token
in the `Authorization` header, even when reads are open; cookies never authorize them. The
dashboard at `/dashboard` is public or opened once with `?token=` (kept in a cookie), by
configuration. Bodies over the configured limit get 413, bodies that arrive too slowly 408.
"""


def create_app(
    settings: ApiSettings,
    client: Client | None = None,
    writer: Any = None,
    *,
    compute: ComputePeriod | None = None,
    warm: bool = True,
    watch: bool = False,
) -> FastAPI:
    """``client``: an open ClickHouse client (default: opened from the settings' DSN).
    ``writer``: the embedded writer, if any, for readiness. ``compute``: replaces
    ``thidua.store.kpi.compute_period`` (tests, benchmarks). ``watch``: poll ClickHouse for
    results materialized by a writer in another process (server mode)."""
    if client is None:
        from thidua.store.client import get_client

        client = get_client(settings.clickhouse_dsn)
    plans = load_plans(settings.plans_dir)
    # Every ClickHouse call of the api runs on the service's one pool thread: an HTTP client's
    # session takes one query at a time (the chDB backend serializes calls on its own).
    service = KpiService(client, plans, compute=compute)
    alerts = AlertsService(client, service.pool, max_silences=settings.api_max_silences)
    hub = RankingsHub()
    service.add_listener(hub.publish)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        await asyncio.wrap_future(service.pool.submit(alerts.silences))
        if warm:
            service.warm(service.standard_period_ids())
        if watcher is not None:
            watcher.start()
        yield
        if watcher is not None:
            watcher.stop()
        hub.close()
        service.close()

    app = FastAPI(
        title="Thi đua CĐS — API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by thidua.docs, without a CDN
        redoc_url=None,
    )
    serve_docs(app)
    app.state.settings = settings
    app.state.write_tokens = settings.write_tokens()
    app.state.service = service
    app.state.alerts = alerts
    app.state.hub = hub
    app.state.writer = writer
    app.state.dashboard_session = secrets.token_urlsafe(32)
    app.state.readiness = _readiness(client, service, settings, app)
    app.state.on_refresh = make_on_refresh(service, alerts)
    watcher = MaterializationWatcher(client, service.pool, app.state.on_refresh) if watch else None
    app.state.watcher = watcher

    problems.install(app)
    app.include_router(api_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(_Timing)
    app.add_middleware(RankingsFastPath, service=service, settings=settings)
    app.add_middleware(
        BufferedBody,
        max_bytes=settings.api_max_body_bytes,
        seconds=settings.http_body_timeout_seconds,
    )
    app.add_middleware(SecurityHeaders)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def make_on_refresh(service: KpiService, alerts: AlertsService) -> Callable[[set[str]], None]:
    """The writer's ``on_refresh``: recompute the named periods, reload alerts."""

    def on_refresh(changed_period_ids: set[str]) -> None:
        metrics.REFRESHES.inc()
        service.on_refresh(set(changed_period_ids))
        alerts.invalidate()

    return on_refresh


def _readiness(
    client: Client, service: KpiService, settings: ApiSettings, app: FastAPI
) -> dict[str, Callable[[], None]]:
    """Probes run by /readyz; Kafka and the writer only matter when the writer runs here."""

    def clickhouse() -> None:
        service.pool.submit(client.query, "SELECT 1").result(timeout=READY_SECONDS)

    def writer() -> None:
        embedded = app.state.writer
        if embedded is not None and not getattr(embedded, "alive", True):
            raise RuntimeError("the embedded writer thread is not running")
        if embedded is not None and getattr(embedded, "last_error", None):
            raise RuntimeError(str(embedded.last_error))

    probes: dict[str, Callable[[], None]] = {"clickhouse": clickhouse}
    if settings.run_writer:
        probes["writer"] = writer

        def kafka() -> None:
            from kafka import KafkaAdminClient

            admin = KafkaAdminClient(
                bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=2500
            )
            try:
                admin.list_topics()
            finally:
                admin.close()

        probes["kafka"] = kafka
    return probes


BEARER_SCHEMES = {
    "readToken": "A read token (THIDUA_API_READ_TOKENS): needed by every /v1 read when read "
    "tokens are configured; 401 without, 403 with an unknown one.",
    "writeToken": "A write token (THIDUA_API_WRITE_TOKENS): every write (silences, recompute) "
    "needs one, even when reads are open, sent in the Authorization header only.",
}


def _scheme_of() -> Callable[[str, str], str | None]:
    """The bearer scheme each route's access dependency asks for."""
    schemes: dict[tuple[str, str], str] = {}
    for key, calls in route_dependencies().items():
        if require_write in calls:
            schemes[key] = "writeToken"
        elif require_read in calls:
            schemes[key] = "readToken"
    return lambda path, method: schemes.get((path, method))


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        # FastAPI documents validation errors as its own JSON; ours are problem details.
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = {
                        "description": "Invalid parameter or body",
                        "content": {
                            problems.PROBLEM_MEDIA_TYPE: {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        },
                    }
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        document_bearer(schema, BEARER_SCHEMES, _scheme_of())
        for _path, _method, operation in operations(schema):
            if "security" in operation:  # every guarded route may answer 401 and 403
                for status, answer in problems.problem_responses(401, 403).items():
                    operation["responses"].setdefault(str(status), answer)
        inline_examples(schema)
        app.openapi_schema = schema
    return app.openapi_schema


class _Timing:
    """Request latency by route template (pure ASGI: no per-request task as with
    BaseHTTPMiddleware, which would cost the hot ranking path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.templates = route_templates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                template = self.templates.get(scope.get("endpoint"), "other")  # type: ignore[arg-type]
                metrics.REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )
            await send(message)

        await self.app(scope, receive, send_status)
