"""`thidua api`: the api process — and, on chDB, the ClickHouse writer inside it."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from services.api.app import create_app
from thidua.contracts.criteria import load_criteria
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate

log = logging.getLogger(__name__)


def start_writer(settings: ApiSettings, client: Any, on_refresh: Any) -> Any:
    """Start the embedded writer (one per chDB path: it must live in this process)."""
    try:
        from services.scoring.writer import Writer
    except ImportError as exc:
        log.warning(
            "the ClickHouse writer is not available (%s): the api serves what is already in "
            "ClickHouse and nothing new will arrive",
            exc,
        )
        return None
    writer = Writer(
        settings, client, load_criteria(settings.criteria_file), on_refresh=[on_refresh]
    )
    writer.start()
    log.info("embedded writer started")
    return writer


def run() -> None:
    settings = ApiSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    client = get_client(settings.clickhouse_dsn)
    migrate(client)
    refresh_target: dict[str, Any] = {}

    def on_refresh(changed_period_ids: set[str]) -> None:
        callback = refresh_target.get("callback")
        if callback is not None:
            callback(changed_period_ids)

    writer = start_writer(settings, client, on_refresh) if settings.run_writer else None
    app = create_app(settings, client, writer)
    refresh_target["callback"] = app.state.on_refresh
    try:
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=3,
            access_log=False,
        )
    finally:
        if writer is not None:
            stop = getattr(writer, "stop", None) or getattr(writer, "close", None)
            if stop is not None:
                stop()
