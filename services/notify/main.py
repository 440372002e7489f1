"""``thidua notify``: the alert rules service (SPEC §6).

One process: the Kafka worker thread (``kpi-results`` → engine → ``alerts`` + deliveries)
and a small HTTP server for ``/metrics``, ``/healthz``, ``/readyz`` on ``notify_port``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.notify import metrics
from services.notify.alerts import Alert
from services.notify.delivery import post_webhooks, send_email
from services.notify.engine import Engine
from services.notify.rules import load_rules
from services.notify.settings import NotifyServiceSettings
from services.notify.silences import SilenceSource, silenced
from services.notify.transport import NotifyWorker
from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.plans import load_plans
from thidua.contracts.topics import Topic
from thidua.docs import serve_docs
from thidua.http_guard import BufferedBody, SecurityHeaders, uvicorn_options
from thidua.kafka_admin import ensure_topics

log = logging.getLogger(__name__)


class Deliveries:
    """Webhooks and e-mail for the alerts no active silence matches."""

    def __init__(self, settings: NotifyServiceSettings, silences: SilenceSource) -> None:
        self.settings = settings
        self.silences = silences

    def __call__(self, alerts: list[Alert]) -> None:
        now = datetime.now(LOCAL_TZ)
        current = self.silences.current()
        loud: Sequence[Alert] = [a for a in alerts if not silenced(a, current, now)]
        if len(loud) < len(alerts):
            metrics.NOTIFICATIONS.labels("any", "silenced").inc(len(alerts) - len(loud))
        s = self.settings
        post_webhooks(loud, s.notify_webhook_urls, s.notify_external_url)
        send_email(
            loud,
            s.smtp_host,
            s.smtp_port,
            s.smtp_from,
            s.smtp_to,
            s.smtp_user,
            s.smtp_password,
            s.smtp_starttls,
        )


def build_worker(settings: NotifyServiceSettings) -> NotifyWorker:
    engine = Engine.build(load_rules(settings.notify_rules_file), load_plans(settings.plans_dir))
    deliveries = Deliveries(
        settings, SilenceSource(settings.notify_api_url, token=settings.notify_api_token)
    )
    return NotifyWorker(
        engine,
        settings.kafka_bootstrap,
        settings.topic_prefix,
        deliveries,
        tick=settings.notify_tick_seconds,
    )


ACTIVE_EXAMPLE = {
    "firing": [{"rule": "flow_below_target", "unit_id": "xa-an-tuong", "criterion": "C13"}],
    "pending": [],
}


def create_app(worker: NotifyWorker, settings: NotifyServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The one place topics are created (replication and min.insync.replicas per cluster).
        ensure_topics(
            settings.kafka_bootstrap,
            settings.topic_prefix,
            settings.topic_partitions,
            topics=(Topic.KPI_RESULTS, Topic.ALERTS),
        )
        worker.start()
        yield
        worker.stop()

    app = FastAPI(
        title="Thi đua CĐS — notify",
        version="1.0",
        description="Evaluates the alert rules (SPEC §6) on the scoring results and delivers "
        "alerts to Kafka, webhooks (Alertmanager JSON) and e-mail. It serves no data of its "
        "own beyond what it holds now; the api serves alert history and silences.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_docs(app)
    # notify takes no request body: any is refused, and every answer has the security headers
    app.add_middleware(BufferedBody, max_bytes=0, seconds=settings.http_body_timeout_seconds)
    app.add_middleware(SecurityHeaders)

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="The process is alive",
        responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
    )
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready once the kpi-results topic is replayed",
        responses={
            200: {"content": {"application/json": {"example": {"status": "ready"}}}},
            503: {
                "description": "still replaying",
                "content": {"application/json": {"example": {"status": "replaying kpi-results"}}},
            },
        },
    )
    def readyz() -> Response:
        ready = worker.alive and worker.ready.is_set()
        body = b'{"status":"ready"}' if ready else b'{"status":"replaying kpi-results"}'
        return Response(body, status_code=200 if ready else 503, media_type="application/json")

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "content": {
                    CONTENT_TYPE_LATEST: {
                        "example": "# TYPE thidua_notify_alerts_firing gauge\n"
                        "thidua_notify_alerts_firing 3.0\n"
                    }
                }
            }
        },
    )
    def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/v1/alerts/active",
        tags=["alerts"],
        summary="Alerts this instance holds firing or pending (history: the api's /v1/alerts)",
        responses={200: {"content": {"application/json": {"example": ACTIVE_EXAMPLE}}}},
    )
    def active() -> dict[str, Any]:
        """What this instance holds firing / pending (for operators; the api serves history)."""
        return {
            "firing": [
                dict(zip(("rule", "unit_id", "criterion"), k, strict=True))
                for k in worker.engine.firing()
            ],
            "pending": [
                dict(zip(("rule", "unit_id", "criterion"), k, strict=True))
                for k in worker.engine.pending()
            ],
        }

    return app


def run() -> None:
    settings = NotifyServiceSettings()  # fields come from env
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    worker = build_worker(settings)
    app = create_app(worker, settings)
    uvicorn.run(
        app,
        host=settings.notify_host,
        port=settings.notify_port,
        log_level="warning",
        **uvicorn_options(settings),
    )
