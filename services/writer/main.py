"""``thidua writer``: the ClickHouse writer on its own, beside a ClickHouse server."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from pydantic import Field

from services.writer.writer import Writer
from thidua.contracts.plans import load_plans
from thidua.heap import collect_rarely
from thidua.http_guard import serve_metrics
from thidua.settings import WriterSettings
from thidua.store.client import get_client

log = logging.getLogger(__name__)


class StandaloneWriterSettings(WriterSettings):
    writer_metrics_host: str = Field("127.0.0.1", description="/metrics listen address")
    writer_metrics_port: int = Field(8004, description="/metrics of the standalone writer (0: off)")


def run() -> None:
    settings = StandaloneWriterSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.writer_metrics_port:
        serve_metrics(
            settings.writer_metrics_host,
            settings.writer_metrics_port,
            settings.http_header_timeout_seconds,
        )
    collect_rarely()
    writer = Writer(settings, get_client(settings.clickhouse_dsn), load_plans(settings.plans_dir))

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping the writer after its current batch", signum)
        writer.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "writer consuming %s as group %s", ", ".join(writer.router.topics), settings.writer_group
    )
    writer.run_forever()
