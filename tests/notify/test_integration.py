"""notify through the real broker: kpi-results in → alerts out; a restart neither forgets a
firing alert nor announces it again."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from services.notify.alerts import Alert
from services.notify.transport import NotifyWorker
from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.topics import Topic, physical
from thidua.kafka_admin import ensure_topics

from .helpers import card, engine

pytestmark = pytest.mark.integration

RULE = {
    "name": "flow_below_target",
    "kind": "flow_below_target",
    "for": "0s",
    "keep_firing_for": "0s",
    "min_denominator": 5,
}


def _publish(bootstrap: str, prefix: str, scorecard: dict[str, Any]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    key = f"{scorecard['period']}|{scorecard['unit_id']}".encode()
    producer.send(physical(Topic.KPI_RESULTS, prefix), key=key, value=orjson.dumps(scorecard))
    producer.flush()
    producer.close()


def _worker(bootstrap: str, prefix: str, delivered: list[Alert]) -> NotifyWorker:
    worker = NotifyWorker(engine(RULE), bootstrap, prefix, delivered.extend, tick=0.2)
    worker.start()
    assert worker.ready.wait(30), "worker did not catch up"
    return worker


def _wait_for(consumer: KafkaConsumer, state: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                body = orjson.loads(record.value)
                if body["state"] == state:
                    assert record.key == body["fingerprint"].encode()
                    return body
    raise AssertionError(f"no {state} alert within {timeout}s")


def test_results_in_alerts_out_and_restart(kafka_bootstrap: str, topic_prefix: str) -> None:
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    alerts = KafkaConsumer(
        physical(Topic.ALERTS, topic_prefix),
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    now = datetime.now(LOCAL_TZ)
    _publish(kafka_bootstrap, topic_prefix, card(when=now, C13=(2, 10, 0.6)))

    delivered: list[Alert] = []
    first = _worker(kafka_bootstrap, topic_prefix, delivered)
    try:
        fired = _wait_for(alerts, "firing")
    finally:
        first.stop()
    assert fired["unit_id"] == "tq-xa-02269" and fired["criterion"] == "C13"
    assert "dưới mục tiêu 60%" in fired["summary"]
    assert [a.state for a in delivered] == ["firing"]

    again: list[Alert] = []
    second = _worker(kafka_bootstrap, topic_prefix, again)
    try:
        time.sleep(1.0)  # several ticks: the restored alert is not announced again
        assert again == [] and second.engine.firing()
        later = datetime.now(LOCAL_TZ)
        _publish(kafka_bootstrap, topic_prefix, card(when=later, C13=(9, 10, 0.6)))
        resolved = _wait_for(alerts, "resolved")
    finally:
        second.stop()
        alerts.close()
    assert resolved["fingerprint"] == fired["fingerprint"]
    assert resolved["starts_at"] == fired["starts_at"] and resolved["ends_at"]
    assert [a.state for a in again] == ["resolved"]


def test_a_silent_source_fires(kafka_bootstrap: str, topic_prefix: str) -> None:
    ensure_topics(kafka_bootstrap, topic_prefix, 1)
    three_days_ago = int((time.time() - 3 * 86400) * 1000)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    dvc = physical(Topic.EVENTS_DVC, topic_prefix)
    producer.send(dvc, key=b"dossier.received:x", value=b"{}", timestamp_ms=three_days_ago)
    producer.send(physical(Topic.EVENTS_EDOC, topic_prefix), key=b"report:y", value=b"{}")
    producer.flush()
    producer.close()
    rule = {"name": "source_silent", "kind": "source_silent", "days": 2, "for": "0s"}
    delivered: list[Alert] = []
    worker = NotifyWorker(engine(rule), kafka_bootstrap, topic_prefix, delivered.extend, tick=0.2)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not delivered and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.stop()
    assert [(a.criterion, a.state) for a in delivered] == [("events-dvc", "firing")]
