"""The reform province (SPEC §7.2) through the real broker: a real Faust worker, SIGKILLed in
the middle and restarted, then the writer into chDB. The registry arrives after the events it
governs. The results equal those of the pure fold, and the batch recompute finds nothing to
differ."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from services.writer import Writer
from tests.scoring.harness import Worker, create_topics, produce
from tests.store.reform import PERIODS, activity, registry
from tests.store.test_reform import PLANS, accepted, load, results
from thidua.contracts.periods import parse_period
from thidua.contracts.topics import Topic
from thidua.kafka_admin import ensure_topics
from thidua.settings import WriterSettings
from thidua.store.recompute import compare_report

pytestmark = pytest.mark.integration


def test_reform_through_faust_with_a_sigkill_equals_the_fold(
    client: Client, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    create_topics(kafka_bootstrap, topic_prefix)
    ensure_topics(kafka_bootstrap, topic_prefix, 4, topics=(Topic.ALERTS, Topic.KPI_RESULTS))
    events = activity()
    random.Random(13).shuffle(events)
    order = accepted([*events, *registry()])  # the registry after the events it governs
    half = len(order) // 2
    worker = Worker(kafka_bootstrap, topic_prefix, f"{topic_prefix}scoring", tmp_path).start()
    worker.wait_ready()
    produce(kafka_bootstrap, topic_prefix, order[:half])
    time.sleep(1.5)  # some of it scored, some not yet committed
    worker.kill()
    produce(kafka_bootstrap, topic_prefix, order[half:])
    worker = Worker(kafka_bootstrap, topic_prefix, f"{topic_prefix}scoring", tmp_path).start()
    settings = WriterSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=4,
        writer_group=f"{topic_prefix}writer",
    )
    writer = Writer(settings, client, PLANS)
    writer.start()
    periods = [parse_period(p) for p in PERIODS]
    try:
        deadline = time.monotonic() + 150
        while True:
            stored = client.query("SELECT count() FROM events_raw FINAL").result_rows[0][0]
            report = compare_report(client, PLANS, periods)
            if stored == len(order) and not any(d for _, d in report.values()):
                break
            assert time.monotonic() < deadline, (stored, report, worker.tail())
            time.sleep(1.0)
        streamed = results(client)
    finally:
        writer.stop()
        worker.stop()
    assert all(units > 0 for units, _ in report.values())
    h1 = next(c for c in streamed["2025"] if c.unit.unit_id == "H1")
    assert h1.rank is not None and h1.unit.closed_at is not None and not h1.award_eligible
    for table in ("events_raw", "kpi_counters"):
        client.command(f"TRUNCATE TABLE {table}")
    load(client, order)
    assert results(client) == streamed
