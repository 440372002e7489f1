"""Dead letters: recorded with their reason, replayed to their original topic once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer

from tests.ingest.conftest import consume
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.dlq import dead_letter, replay, send_to_dlq
from thidua.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration


def _event(number: int) -> CanonicalEvent:
    return CanonicalEvent(
        source="/edoc",
        id=f"wf-{number}",
        type=EventType.WORKFILE_CLOSED,
        time=datetime(2025, 5, 1, tzinfo=UTC),
        seq=1000 + number,
        data={
            "workfile_id": f"W{number}",
            "unit_id": "sotttt",
            "online": True,
            "digitally_signed": True,
            "secret": False,
        },
    )


def test_dead_letter_record_names_its_origin() -> None:
    letter = dead_letter("p.", _event(1).to_bytes(), "workfile:W1", "boom", "scoring")
    headers = dict(letter.headers)
    assert letter.topic == "p.dead-letter" and letter.key == b"workfile:W1"
    assert headers["original_topic"] == b"p.events-edoc"
    assert headers["reason"] == b"boom" and headers["stage"] == b"scoring"
    assert datetime.fromisoformat(headers["failed_at"].decode()).tzinfo is not None
    assert dict(dead_letter("p.", b"garbage", None, "x", "writer").headers)["original_topic"] == b""


def test_replay_reproduces_each_dead_letter_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    events = [_event(1), _event(2)]
    for event in events:
        send_to_dlq(
            producer,
            topic_prefix,
            event.to_bytes(),
            event.entity_key,
            "chDB insert failed: table missing",
            "writer",
        ).get(timeout=10)
    send_to_dlq(producer, topic_prefix, b"not an event", None, "unreadable", "scoring").get(10)
    producer.close()

    letters = consume(kafka_bootstrap, f"{topic_prefix}dead-letter", 3)
    assert {dict(r.headers)["reason"] for r in letters} == {
        b"chDB insert failed: table missing",
        b"unreadable",
    }

    report = replay(kafka_bootstrap, topic_prefix, timeout_s=30)
    assert (report.replayed, report.skipped) == (2, 1)
    replayed = consume(kafka_bootstrap, f"{topic_prefix}events-edoc", 2)
    assert sorted(r.value for r in replayed) == sorted(e.to_bytes() for e in events)
    assert {r.key for r in replayed} == {b"workfile:W1", b"workfile:W2"}
    assert all(dict(r.headers)["replayed_from"].startswith(topic_prefix.encode()) for r in replayed)
    # Progress is committed: a second replay has nothing left to do.
    again = replay(kafka_bootstrap, topic_prefix, timeout_s=30)
    assert (again.replayed, again.skipped) == (0, 0)
