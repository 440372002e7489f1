"""The api with its embedded writer on the real broker: events and counters published on
Kafka reach ClickHouse, the writer's refresh recomputes the cached ranking, SSE pushes it.
(The full path ingest → scoring → writer → api is the end-to-end suite's.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client
from kafka import KafkaProducer

from services.api.main import build
from tests.api import data
from tests.api.conftest import LiveServer
from tests.api.sse_client import events
from thidua.contracts.events import CanonicalEvent
from thidua.contracts.topics import Topic, physical, topic_for
from thidua.kafka_admin import ensure_topics
from thidua.settings import ApiSettings

pytestmark = pytest.mark.integration
PARAMS = {"tier": "commune", "period": "2026-Q1"}


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    yield p
    p.close()


def _send_event(producer: KafkaProducer, prefix: str, event: CanonicalEvent) -> None:
    topic = physical(topic_for(event.type), prefix)
    producer.send(topic, key=event.entity_key.encode(), value=event.to_bytes())


def _send_counter(
    producer: KafkaProducer, prefix: str, unit_id: str, measure: str, day: str, value: float
) -> None:
    body = {"unit_id": unit_id, "measure": measure, "day": day, "partition": 0, "value": value}
    key = f"{unit_id}|{measure}|{day}|0".encode()
    producer.send(physical(Topic.KPI_COUNTERS, prefix), key=key, value=orjson.dumps(body))


def test_writer_refresh_reaches_readers_and_streams(
    ch: Client, kafka_bootstrap: str, topic_prefix: str, producer: KafkaProducer
) -> None:
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    settings = ApiSettings(
        clickhouse_dsn="chdb:///unused",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
        writer_embedded=True,
        writer_group=f"{topic_prefix}writer",
        writer_batch_seconds=0.2,
    )
    # units registered in 2026: the 2025 data of the other tests stays as it was
    for unit_id, name in (("X7", "UBND xã Kim Bình"), ("X8", "UBND phường Minh Xuân")):
        _send_event(
            producer,
            topic_prefix,
            data.unit_event(unit_id, "commune", name=name, when="2026-01-05T08:00:00"),
        )
    producer.flush()

    app, writer = build(settings, ch)
    assert writer is not None, "services.scoring.writer must be importable"
    try:
        with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
            _wait(
                lambda: (
                    {i["unit_id"] for i in http.get("/v1/rankings", params=PARAMS).json()["items"]}
                    >= {"X7", "X8"}
                )
            )
            ready = http.get("/readyz").json()
            assert ready["checks"] == {"clickhouse": "ok", "writer": "ok", "kafka": "ok"}
            with http.stream("GET", "/v1/stream/rankings", params=PARAMS) as stream:
                received = events(stream)
                _, first = next(received)
                assert {i["unit_id"] for i in json.loads(first)["items"]} >= {"X7", "X8"}

                # scoring publishes X8's counters: satisfied ratings in January 2026
                _send_counter(producer, topic_prefix, "X8", "rating", "2026-01-20", 4)
                _send_counter(producer, topic_prefix, "X8", "rating_satisfied", "2026-01-20", 4)
                producer.flush()

                deadline = time.monotonic() + 60
                while True:
                    assert time.monotonic() < deadline, "no SSE update with X8's counters"
                    _, payload = next(received)
                    ranks = {
                        i["unit_id"]: (i["rank"], i["criteria_met"])
                        for i in json.loads(payload)["items"]
                    }
                    if ranks["X8"][1] == 1:
                        break
                assert ranks["X8"][0] < ranks["X7"][0]
            card = http.get("/v1/units/X8/scorecard", params={"period": "2026-Q1"}).json()
            c05 = next(c for c in card["criteria"] if c["id"] == "C05")
            assert (c05["numerator"], c05["denominator"], c05["met"]) == (4, 4, True)
    finally:
        writer.stop()


def _wait(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
