"""``thidua ingest``: the ingest service under uvicorn.

``THIDUA_INGEST_WORKERS`` > 1 runs that many processes on one port (each its own producer,
Prometheus in multiprocess mode so ``/metrics`` sums them); ``seq`` stays
``max(last + 1, time.time_ns())`` per process, so acceptance order across processes is the
nanosecond clock's.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

import uvicorn
from fastapi import FastAPI

from services.ingest.app import create_app
from thidua.http_guard import uvicorn_options
from thidua.settings import IngestSettings


def quiet_kafka_client() -> None:
    """kafka-python logs every connection at INFO; keep its warnings and errors only."""
    logging.getLogger("kafka").setLevel(max(logging.getLogger().level, logging.WARNING))


def app_factory() -> FastAPI:
    """For uvicorn's ``--factory`` (and worker processes): settings from the environment."""
    return create_app(IngestSettings())


def run() -> None:
    settings = IngestSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_kafka_client()
    create_app(settings)  # fail fast on a bad tokens or xAPI file, before starting workers
    metrics_dir = None
    if settings.ingest_workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are spawned (fresh interpreters): they read this before their first metric.
        metrics_dir = tempfile.mkdtemp(prefix="thidua-ingest-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "services.ingest.main:app_factory",
            factory=True,
            host=settings.ingest_host,
            port=settings.ingest_port,
            workers=settings.ingest_workers,
            log_level=settings.log_level.lower(),
            access_log=False,  # Prometheus counts every request; a line per request costs
            **uvicorn_options(settings),
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    run()
