"""`thidua writer` as its own process: consumes, serves /metrics, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from tests.store.builders import unit
from tests.store.test_writer import send_event
from thidua.kafka_admin import ensure_topics
from thidua.store.client import get_client

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) (\S+):", re.M)


def tracebacks_not_from_kafka_python(output: str) -> list[str]:
    """The log records (with what follows them) that carry a traceback, except the ones
    kafka-python logs itself: its IO thread sometimes logs one while a consumer closes (a
    socket closed under a pending read, seen once in CI), which is not the writer's doing."""
    starts = [m.start() for m in _RECORD.finditer(output)]
    chunks = [output[a:b] for a, b in zip([0, *starts], [*starts, len(output)], strict=True)]
    found = []
    for chunk in chunks:
        if "Traceback" not in chunk:
            continue
        record = _RECORD.match(chunk)
        if record is not None and record.group(2).startswith("kafka."):
            continue
        found.append(chunk)
    return found


def test_tracebacks_of_kafka_python_alone_are_left_out() -> None:
    ours = "2026-11-26 03:52:25,987 ERROR services.writer.writer: boom\nTraceback (x)\n"
    theirs = "2026-11-26 03:52:25,987 ERROR kafka.net.transport: closing\nTraceback (y)\n"
    bare = "Traceback (most recent call last):\n  ValueError\n"
    assert tracebacks_not_from_kafka_python(theirs + "2026-11-26 03:52:26,000 INFO a: b\n") == []
    assert tracebacks_not_from_kafka_python(theirs + ours) == [ours]
    assert tracebacks_not_from_kafka_python(bare + theirs) == [bare]


def rows_written(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
    except httpx.HTTPError:
        return -1
    for line in text.splitlines():
        if line.startswith('thidua_writer_rows_written_total{table="events_raw"}'):
            return float(line.split()[-1])
    return 0


def test_standalone_writer_process(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for unit_id in ("A", "B", "C"):
        send_event(producer, topic_prefix, unit(unit_id, "2025-01-01"))
    producer.flush()
    producer.close()
    port, dsn = free_port(), f"chdb://{tmp_path / 'standalone'}"
    env = {
        **os.environ,
        "THIDUA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "THIDUA_TOPIC_PREFIX": topic_prefix,
        "THIDUA_TOPIC_PARTITIONS": "2",
        "THIDUA_CLICKHOUSE_DSN": dsn,
        "THIDUA_WRITER_GROUP": f"{topic_prefix}writer",
        "THIDUA_WRITER_METRICS_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "writer"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while rows_written(port) < 3 and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.2)
        assert rows_written(port) == 3
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    output = process.stdout.read().decode()  # type: ignore[union-attr]
    assert code == 0, output
    assert tracebacks_not_from_kafka_python(output) == [], output
    client = get_client(dsn)
    try:
        units = client.query("SELECT unit_id FROM events_raw FINAL ORDER BY unit_id").result_rows
        assert units == [("A",), ("B",), ("C",)]
        scored = client.query("SELECT count() FROM kpi_scores WHERE period = '2025'")
        assert scored.result_rows[0][0] >= 3
    finally:
        client.close()
