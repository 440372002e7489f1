"""``thidua ingest``: the ingest service under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from services.ingest.app import create_app
from thidua.settings import IngestSettings


def run() -> None:
    settings = IngestSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.ingest_host,
        port=settings.ingest_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # Prometheus counts every request; per-request lines cost throughput
    )


if __name__ == "__main__":
    run()
