"""`thidua api`: the api process. On chDB the ClickHouse writer must live in this process
(one process per chDB path): the console script (``tools.embedded``) passes it in as a
*companion*, so the api itself never imports another service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import uvicorn
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from services.api.app import create_app
from thidua.http_guard import uvicorn_options
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


# Starts something beside the app on its client (the embedded writer), or returns None.
Companion = Callable[[Client, FastAPI], Stoppable | None]


def build(
    settings: ApiSettings, client: Client, companion: Companion | None = None
) -> tuple[FastAPI, Stoppable | None]:
    """The app and, when ``settings.run_writer``, the companion feeding it (started);
    otherwise the app watches ClickHouse for what a writer elsewhere materializes."""
    app = create_app(settings, client, writer=None, watch=not settings.run_writer)
    started = None
    if settings.run_writer:
        if companion is None:
            log.warning(
                "no writer runs in this process: the api serves what is already in "
                "ClickHouse and nothing new will arrive"
            )
        else:
            started = companion(client, app)
    return app, started


def run(companion: Companion | None = None) -> None:
    settings = ApiSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not settings.write_tokens():
        log.warning("no THIDUA_API_WRITE_TOKENS: every write (silences, recompute) will be refused")
    client = get_client(settings.clickhouse_dsn)
    migrate(client, cluster=settings.clickhouse_cluster)
    app, started = build(settings, client, companion)
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
        if started is not None:
            started.stop()
