"""The whole streaming path against the batch recompute: events on Kafka → a real Faust
scoring worker (``thidua scoring``) → kpi-counters → writer → chDB; then compute_period
(counters) and recompute (raw events, SQL) must agree for every period."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from kafka import KafkaProducer

from services.writer import Writer
from tests.store.test_recompute import PERIODS, province
from tests.store.test_writer import send_event
from tests.store.test_writer_process import free_port
from thidua.contracts.periods import parse_period
from thidua.contracts.plans import default_plans
from thidua.kafka_admin import ensure_topics
from thidua.settings import WriterSettings
from thidua.store.recompute import compare_report

pytestmark = pytest.mark.integration


def test_streaming_through_faust_agrees_with_recompute(
    client: Client, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    env = {
        **os.environ,
        "THIDUA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "THIDUA_TOPIC_PREFIX": topic_prefix,
        "THIDUA_TOPIC_PARTITIONS": "2",
        "THIDUA_SCORING_APP_ID": f"{topic_prefix}scoring",
        "THIDUA_SCORING_PORT": str(free_port()),
        "THIDUA_SCORING_DATA_DIR": str(tmp_path / "scoring"),
        "THIDUA_LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "scoring"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    events = province()
    for e in events:
        send_event(producer, topic_prefix, e)
    producer.flush()
    producer.close()
    settings = WriterSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
        writer_group=f"{topic_prefix}writer",
    )
    writer = Writer(settings, client, default_plans())
    writer.start()
    try:
        # Poll until the streaming side has caught up with every event (or give up).
        periods = [parse_period(p) for p in PERIODS]
        deadline = time.monotonic() + 120
        while True:
            stored = client.query("SELECT count() FROM events_raw FINAL").result_rows[0][0]
            report = compare_report(client, default_plans(), periods)  # after: sees all it counted
            agreed = stored == len(events) and not any(d for _, d in report.values())
            if agreed or time.monotonic() > deadline:
                break
            assert worker.poll() is None, "the scoring worker exited"
            time.sleep(1.0)
    finally:
        writer.stop()
        worker.terminate()
        worker.wait(timeout=60)
    assert {p: len(d) for p, (_, d) in report.items()} == dict.fromkeys(PERIODS, 0)
    assert report["2025"][0] == 4
