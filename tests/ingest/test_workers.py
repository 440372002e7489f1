"""`thidua ingest` with several workers: one port, /metrics sums every worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import orjson
import pytest

from tests.ingest.conftest import BATCH, DVC, SOURCES_FILE, dossier

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_workers_share_a_port_and_their_metrics(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "THIDUA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "THIDUA_TOPIC_PREFIX": topic_prefix,
        "THIDUA_TOPIC_PARTITIONS": "2",
        "THIDUA_INGEST_PORT": str(port),
        "THIDUA_INGEST_TOKENS_FILE": str(SOURCES_FILE),
        "THIDUA_INGEST_WORKERS": "2",
        "THIDUA_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "services.ingest.main"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ingest did not become ready"
            time.sleep(0.3)
        total = 0
        for number in range(8):  # fresh connections: the kernel spreads them over workers
            batch = [dossier(number * 10 + i) for i in range(5)]
            r = httpx.post(
                f"{base}/v1/events",
                content=orjson.dumps(batch),
                headers={**DVC, **BATCH},
                timeout=30,
            )
            assert r.status_code == 202
            total += 5
        text = httpx.get(f"{base}/metrics", timeout=10).text
        accepted = [
            line
            for line in text.splitlines()
            if line.startswith('thidua_ingest_events_accepted_total{source="dvc-portal"')
        ]
        assert accepted and float(accepted[0].rsplit(" ", 1)[1]) == total
    finally:
        proc.terminate()
        proc.wait(timeout=30)
