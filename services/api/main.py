"""`thidua api`: the api process — and, on chDB, the ClickHouse writer inside it."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from services.api.app import create_app
from thidua.http_guard import uvicorn_options
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate

log = logging.getLogger(__name__)


def start_writer(settings: ApiSettings, client: Client, app: FastAPI) -> Any:
    """Start the embedded writer (one per chDB path: it must live in this process); its
    refreshes invalidate the api's cache and push SSE updates."""
    try:
        from services.scoring.heap import collect_rarely
        from services.scoring.writer import Writer
    except ImportError as exc:
        log.warning(
            "the ClickHouse writer is not available (%s): the api serves what is already in "
            "ClickHouse and nothing new will arrive",
            exc,
        )
        return None
    writer = Writer(
        settings,
        client,
        app.state.service.plans,
        on_refresh=[app.state.on_refresh],
        on_results=[app.state.service.accept],
    )
    app.state.writer = writer
    collect_rarely()
    writer.start()
    log.info("embedded writer started")
    return writer


def build(settings: ApiSettings, client: Client) -> tuple[FastAPI, Any]:
    """The app and, when ``settings.run_writer``, the writer feeding it (started); otherwise
    the app watches ClickHouse for what a writer elsewhere materializes."""
    app = create_app(settings, client, writer=None, watch=not settings.run_writer)
    writer = start_writer(settings, client, app) if settings.run_writer else None
    return app, writer


def run() -> None:
    settings = ApiSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not settings.api_write_tokens:
        log.warning("no THIDUA_API_WRITE_TOKENS: every write (silences, recompute) will be refused")
    client = get_client(settings.clickhouse_dsn)
    migrate(client, cluster=settings.clickhouse_cluster)
    app, writer = build(settings, client)
    try:
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=3,
            access_log=False,
            **uvicorn_options(settings),
        )
    finally:
        if writer is not None:
            writer.stop()
