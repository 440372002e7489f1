"""The api and the ClickHouse writer in one process, as chDB requires (one process per path).

Composed here, in the tools layer, so neither service imports the other: the writer's
refreshes invalidate the api's cache and push its SSE updates; its results feed the api's
live view."""

from __future__ import annotations

import logging

from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from services.api.main import Companion
from services.writer import Writer
from thidua.heap import collect_rarely
from thidua.settings import WriterSettings

log = logging.getLogger(__name__)


def embedded_writer(settings: WriterSettings | None = None) -> Companion:
    """A companion for :func:`services.api.main.build` that starts the writer on the api's
    client (settings from the environment unless given)."""

    def start(client: Client, app: FastAPI) -> Writer:
        writer = Writer(
            settings or WriterSettings(),
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

    return start
