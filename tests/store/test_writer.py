"""The writer end to end through the real Kafka broker into a real chDB (no mocks)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import orjson
import pytest
from clickhouse_connect.driver.client import Client
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from prometheus_client import REGISTRY

from services.writer import Writer
from tests.store.builders import event, unit
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.plans import default_plans
from thidua.contracts.topics import Topic, physical, topic_for
from thidua.kafka_admin import ensure_topics
from thidua.settings import WriterSettings
from thidua.store import kpi
from thidua.store.periods_index import standard_periods

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_bootstrap: str, topic_prefix: str) -> WriterSettings:
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    return WriterSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
        writer_group=f"{topic_prefix}writer",
        writer_batch_rows=20,
        writer_batch_seconds=0.2,
    )


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    yield p
    p.close()


def send_event(producer: KafkaProducer, prefix: str, e: CanonicalEvent) -> None:
    topic = physical(topic_for(e.type), prefix)
    producer.send(topic, key=e.entity_key.encode(), value=e.to_bytes())


def send_counter(producer: KafkaProducer, prefix: str, unit_id: str, measure: str, day: str,
                 value: float, partition: int = 0) -> None:  # fmt: skip
    body = {
        "unit_id": unit_id,
        "measure": measure,
        "day": day,
        "partition": partition,
        "value": value,
    }
    key = f"{unit_id}|{measure}|{day}|{partition}".encode()
    producer.send(physical(Topic.KPI_COUNTERS, prefix), key=key, value=orjson.dumps(body))


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def count(client: Client, sql: str) -> int:
    return int(client.query(sql).result_rows[0][0])


def raw_rows_written() -> float:
    value = REGISTRY.get_sample_value("thidua_writer_rows_written_total", {"table": "events_raw"})
    return value or 0.0


def committed(settings: WriterSettings) -> dict[tuple[str, int], int]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        offsets = admin.list_group_offsets(settings.writer_group).get(settings.writer_group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


def events_in_2025() -> list[CanonicalEvent]:
    dossier = {"unit_id": "A", "procedure_id": "P1"}
    return [
        unit("A", "2024-12-01"),
        unit("B", "2024-12-01", tier="district"),
        event(
            EventType.DOSSIER_RECEIVED,
            "2025-03-01",
            {**dossier, "dossier_id": "D1", "channel": "online_full"},
        ),  # fmt: skip
        event(
            EventType.DOSSIER_RECEIVED,
            "2025-03-02",
            {**dossier, "dossier_id": "D2", "channel": "direct"},
        ),  # fmt: skip
    ]


def test_writer_stores_every_topic_and_commits_after_the_write(
    client: Client, settings: WriterSettings, producer: KafkaProducer
) -> None:
    prefix = settings.topic_prefix
    refreshed: list[set[str]] = []
    for e in events_in_2025():
        send_event(producer, prefix, e)
    send_counter(producer, prefix, "A", "dossier_received", "2025-03-01", 1)
    send_counter(producer, prefix, "A", "dossier_received", "2025-03-01", 2)  # later absolute
    send_counter(producer, prefix, "A", "dossier_online_full", "2025-03-01", 1)
    alert = {
        "fingerprint": "f1", "rule": "flow_below_target", "unit_id": "A", "criterion": "C03",
        "state": "firing", "severity": "warning", "summary": "C03 thấp",
        "labels": {"tier": "province_agency"}, "starts_at": "2025-03-02T08:00:00+07:00",
        "ends_at": None, "updated_at": "2025-03-02T08:00:00+07:00",
    }  # fmt: skip
    producer.send(physical(Topic.ALERTS, prefix), key=b"f1", value=orjson.dumps(alert))
    producer.send(physical(Topic.EVENTS_DVC, prefix), key=b"x", value=b"{not json")
    producer.flush()

    writer = Writer(settings, client, default_plans(), on_refresh=[refreshed.append])
    writer.start()
    try:
        # everything consumed, written and committed (stop() then ends the last refresh)
        wait_for(lambda: sum(committed(settings).values()) == 4 + 3 + 1 + 1)
    finally:
        writer.stop()
    assert count(client, "SELECT count() FROM alerts FINAL") == 1
    lags = [
        REGISTRY.get_sample_value(
            "thidua_writer_consumer_lag", {"topic": topic, "partition": str(partition)}
        )
        for topic in writer.router.topics
        for partition in (0, 1)
    ]
    assert {lag for lag in lags if lag is not None} == {0.0}  # caught up, and measured
    assert count(client, "SELECT count() FROM events_raw FINAL") == 4
    rows = client.query(
        "SELECT measure, value FROM kpi_counters FINAL WHERE unit_id = 'A' ORDER BY measure"
    ).result_rows
    assert rows == [("dossier_online_full", 1.0), ("dossier_received", 2.0)]
    scores = client.query(
        "SELECT unit_id, tier, rank FROM kpi_scores FINAL WHERE period = '2025' ORDER BY unit_id"
    ).result_rows
    assert scores == [("A", "province_agency", 1), ("B", "district", 1)]
    c03 = client.query(
        "SELECT numerator, denominator, value FROM kpi_criteria FINAL "
        "WHERE period = '2025-Q1' AND unit_id = 'A' AND criterion = 'C03'"
    ).result_rows
    assert c03 == [(1.0, 2.0, 0.5)]
    # At start every standard period; then those a flush touched: flows of 2025 and the
    # registry versions of December 2024.
    assert refreshed[0] == {p.id for p in standard_periods(datetime.now(UTC), default_plans())}
    touched = set().union(*refreshed[1:])
    assert {"2024", "2024-Q4", "2025-Q1", "phase-2021-2025"} <= touched
    assert not touched & {"2023", "2024-Q3"}
    # The undecodable message went to the dead-letter topic with its reason.
    dlq = KafkaConsumer(
        physical(Topic.DEAD_LETTER, prefix), bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=3000,
    )  # fmt: skip
    letters = list(dlq)
    dlq.close()
    assert [m.value for m in letters] == [b"{not json"]
    headers = dict(letters[0].headers)
    assert headers["stage"] == b"writer" and b"not a canonical event" in headers["reason"]
    assert headers["original_topic"] == physical(Topic.EVENTS_DVC, prefix).encode()  # replayable


def test_restart_neither_loses_nor_duplicates(
    client: Client, settings: WriterSettings, producer: KafkaProducer
) -> None:
    prefix = settings.topic_prefix
    first = events_in_2025()
    for e in first:
        send_event(producer, prefix, e)
    producer.flush()
    writer = Writer(settings, client, default_plans())
    writer.start()
    try:
        wait_for(lambda: count(client, "SELECT count() FROM events_raw FINAL") == 4)
        wait_for(lambda: sum(committed(settings).values()) == 4)  # committed after the write
    finally:
        writer.stop()
    written_before = raw_rows_written()
    # Events sent while no writer runs, plus a resend (same source and id, accepted later).
    resend = first[0].model_copy(update={"seq": first[0].seq + 10**6})
    later = [unit("C", "2025-05-01"), resend]
    for e in later:
        send_event(producer, prefix, e)
    producer.flush()
    again = Writer(settings, client, default_plans())
    again.start()
    try:
        wait_for(lambda: count(client, "SELECT count() FROM events_raw FINAL") == 6)
        wait_for(lambda: sum(committed(settings).values()) == 6)
    finally:
        again.stop()
    assert count(client, "SELECT count() FROM events_raw FINAL") == 6  # the resend is kept…
    assert kpi.read_registry(client).units() == ["A", "B", "C"]  # …inert
    # The restarted writer began at the committed offsets: it wrote the two new rows (twice
    # at most, if a rebalance came before their commit), never the four committed ones.
    assert raw_rows_written() - written_before in (2, 4)


def test_offsets_stay_uncommitted_while_inserts_fail(
    client: Client, settings: WriterSettings, producer: KafkaProducer
) -> None:
    prefix = settings.topic_prefix
    client.command("RENAME TABLE kpi_counters TO kpi_counters_away")
    send_counter(producer, prefix, "A", "rating", "2025-01-05", 3)
    producer.flush()
    writer = Writer(settings, client, default_plans())
    writer.start()
    try:
        time.sleep(2.0)  # several failed attempts
        assert committed(settings) == {}
        assert writer.alive and not writer.healthy
        client.command("RENAME TABLE kpi_counters_away TO kpi_counters")
        wait_for(lambda: count(client, "SELECT count() FROM kpi_counters") == 1)
        wait_for(lambda: sum(committed(settings).values()) == 1)
        wait_for(lambda: writer.healthy)
    finally:
        writer.stop()


def test_aborted_transactions_are_not_written(
    client: Client, settings: WriterSettings, kafka_bootstrap: str
) -> None:
    prefix = settings.topic_prefix
    tx = KafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"{prefix}tx")
    tx.init_transactions()
    tx.begin_transaction()
    send_counter(tx, prefix, "A", "rating", "2025-01-05", 99)
    tx.abort_transaction()
    tx.begin_transaction()
    send_counter(tx, prefix, "A", "rating", "2025-01-06", 1)
    tx.commit_transaction()
    tx.close()
    writer = Writer(settings, client, default_plans())
    writer.start()
    try:
        wait_for(lambda: count(client, "SELECT count() FROM kpi_counters") >= 1)
        time.sleep(0.5)
    finally:
        writer.stop()
    rows = client.query("SELECT day, value FROM kpi_counters FINAL").result_rows
    assert rows == [(date(2025, 1, 6), 1.0)]


def test_a_rebalance_stores_and_commits_the_batch_in_hand(
    client: Client, settings: WriterSettings, producer: KafkaProducer
) -> None:
    """A member joining the group revokes the writer's partitions mid-batch: the rows are
    stored before they go and their offsets committed once they come back, long before the
    batch would have been due."""
    slow = settings.model_copy(update={"writer_batch_rows": 10_000, "writer_batch_seconds": 60.0})
    writer = Writer(slow, client, default_plans())
    writer.start()
    joiner: KafkaConsumer | None = None
    try:
        wait_for(lambda: committed(slow) == {} and writer.alive)
        time.sleep(3.0)  # the writer owns its partitions
        for e in events_in_2025():
            send_event(producer, settings.topic_prefix, e)
        producer.flush()
        time.sleep(2.0)  # polled into the (60 s) batch
        assert count(client, "SELECT count() FROM events_raw") == 0
        joiner = KafkaConsumer(
            f"{settings.topic_prefix}unrelated",
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=slow.writer_group,
        )
        # The joiner keeps polling: a member that stops after its first poll may hold the
        # group's rebalance until its poll interval runs out (the test then hung on that).

        def joiner_polls_and(check: Callable[[], bool]) -> Callable[[], bool]:
            assert joiner is not None
            return lambda: joiner.poll(timeout_ms=50) is not None and check()

        stored = joiner_polls_and(
            lambda: count(client, "SELECT count() FROM events_raw FINAL") == 4
        )
        wait_for(stored, 20)
        wait_for(joiner_polls_and(lambda: sum(committed(slow).values()) == 4), 20)
    finally:
        if joiner is not None:
            joiner.close()
        writer.stop()


def test_a_backlog_is_materialized_at_most_every_refresh_interval_then_once_caught_up(
    client: Client, settings: WriterSettings, producer: KafkaProducer
) -> None:
    """Behind, the writer stores batch after batch and materializes on its interval (one
    materialization per 20-row batch made a backlog as slow as ClickHouse's KPI queries);
    caught up, it materializes what is pending at once."""
    prefix = settings.topic_prefix
    days = [f"2025-03-{d:02d}" for d in range(1, 29)]
    for n in range(400):  # 20 batches of 20 rows
        send_counter(producer, prefix, "A", "dossier_received", days[n % len(days)], n)
    producer.flush()
    slow = settings.model_copy(update={"writer_refresh_seconds": 3600.0})
    batches_before = REGISTRY.get_sample_value("thidua_writer_batch_messages_count") or 0
    refreshed: list[set[str]] = []
    writer = Writer(slow, client, default_plans(), on_refresh=[refreshed.append])
    writer.start()
    try:
        wait_for(lambda: sum(committed(slow).values()) == 400)
        wait_for(lambda: len(refreshed) >= 2 and not writer.refresher.pending, 10)
    finally:
        writer.stop()
    batches = (
        REGISTRY.get_sample_value("thidua_writer_batch_messages_count") or 0
    ) - batches_before
    assert batches >= 10, "the backlog was written in many batches"
    # the start's refresh of every period, then at most one while behind and the one at the end
    assert 2 <= len(refreshed) <= 3
    assert "2025-Q1" in refreshed[-1]
    value = client.query(
        "SELECT sum(value) FROM kpi_counters FINAL WHERE unit_id = 'A'"
    ).result_rows[0][0]
    assert value == sum(range(400 - len(days), 400))  # each day's latest absolute value
