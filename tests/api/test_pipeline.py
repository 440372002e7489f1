"""The api with its embedded writer on the real broker: events and counters published on
Kafka reach ClickHouse, the writer's refresh recomputes the cached ranking, SSE pushes it.
(The full path ingest → scoring → writer → api is the end-to-end suite's.)"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from clickhouse_connect.driver.client import Client
from kafka import KafkaProducer

from services.api.main import build
from tests.api import data
from tests.api.conftest import LiveServer
from tests.api.contract import assert_contract
from tests.api.sse_client import events
from thidua.contracts.events import CanonicalEvent
from thidua.contracts.topics import Topic, physical, topic_for
from thidua.kafka_admin import ensure_topics
from thidua.settings import ApiSettings, WriterSettings
from tools.embedded import embedded_writer

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
    common = dict(
        clickhouse_dsn="chdb:///unused",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
    )
    settings = ApiSettings(**common, writer_embedded=True)
    writer_settings = WriterSettings(
        **common, writer_group=f"{topic_prefix}writer", writer_batch_seconds=0.2
    )
    # units registered in 2026: the 2025 data of the other tests stays as it was
    for unit_id, name in (("X7", "UBND xã Kim Bình"), ("X8", "UBND phường Minh Xuân")):
        _send_event(
            producer,
            topic_prefix,
            data.unit_event(unit_id, "commune", name=name, when="2026-01-05T08:00:00"),
        )
    producer.flush()

    app, writer = build(settings, ch, embedded_writer(writer_settings))
    assert writer is not None
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
            stream = _SseListener(f"{live.url}/v1/stream/rankings", PARAMS)
            first = stream.next_items(30)
            assert {i["unit_id"] for i in first} >= {"X7", "X8"}

            # scoring publishes X8's counters: satisfied ratings in January 2026
            _send_counter(producer, topic_prefix, "X8", "rating", "2026-01-20", 4)
            _send_counter(producer, topic_prefix, "X8", "rating_satisfied", "2026-01-20", 4)
            producer.flush()

            deadline = time.monotonic() + 90
            while True:
                items = stream.next_items(max(0.1, deadline - time.monotonic()))
                ranks = {i["unit_id"]: (i["rank"], i["criteria_met"]) for i in items}
                if ranks["X8"][1] == 1:
                    break
            assert ranks["X8"][0] < ranks["X7"][0]
            card = http.get("/v1/units/X8/scorecard", params={"period": "2026-Q1"}).json()
            c05 = next(c for c in card["criteria"] if c["id"] == "C05")
            assert (c05["numerator"], c05["denominator"], c05["met"]) == (4, 4, True)
            # the year is recomputed right after the quarter: readers see it once it lands
            year = {"tier": "commune", "period": "2026"}
            _wait(
                lambda: _order(http.get("/v1/rankings", params=year).json()) == ["X1", "X8", "X7"]
            )
            assert_contract(http, period="2026", tier="commune", unit_id="X8")
    finally:
        writer.stop()


def _order(body: dict[str, Any]) -> list[str]:
    return [item["unit_id"] for item in body["items"]]


class _SseListener:
    """Reads an SSE stream in a thread, so the test can wait on it with a deadline."""

    def __init__(self, url: str, params: dict[str, str]) -> None:
        self.items: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._read, args=(url, params), daemon=True).start()

    def _read(self, url: str, params: dict[str, str]) -> None:
        try:
            with httpx.stream("GET", url, params=params, timeout=None) as response:
                for name, payload in events(response):
                    if name == "rankings":
                        self.items.put(json.loads(payload)["items"])
        except httpx.TransportError:
            pass  # the server stopped at the end of the test (a missing event fails next_items)

    def next_items(self, timeout: float) -> list[dict[str, Any]]:
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no SSE rankings event within {timeout:.0f}s") from None


def _wait(condition, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
