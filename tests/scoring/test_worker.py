"""Scoring workers against the real broker: exact counters, dead letters, SIGKILL, two workers."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from services.scoring.processors import fold
from thidua.contracts.plans import default_plans

from .events import T, dossier, event, indicator, staff, training
from .harness import CounterReader, Worker, create_topics, diff, produce, read_dead_letters
from .workload import make_events

pytestmark = pytest.mark.integration

IDS = default_plans().indicator_ids()


@pytest.fixture
def app_id() -> str:
    return f"scoring-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def reader(kafka_bootstrap: str, topic_prefix: str) -> Iterator[CounterReader]:
    create_topics(kafka_bootstrap, topic_prefix)
    counters = CounterReader(kafka_bootstrap, topic_prefix)
    yield counters
    counters.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()


def events_scored(worker: Worker) -> float:
    found = re.findall(r"^thidua_scoring_events_total\{[^}]*\} (\S+)$", worker.metrics(), re.M)
    return sum(float(x) for x in found)


def test_exact_counters_corrections_resends_and_dead_letters(
    kafka_bootstrap: str,
    topic_prefix: str,
    app_id: str,
    tmp_path: Path,
    reader: CounterReader,
    workers: list[Worker],
) -> None:
    d2 = dossier("d2", "2025-12-31T17:00:00Z", unit="U1", seq=3)  # 2026-01-01 00:00 local
    history = [
        dossier("d1", "2025-12-31T23:59:59+07:00", unit="U1", seq=1),
        dossier(
            "d1", "2026-01-02T10:00:00+07:00", unit="U2", channel="direct", seq=2
        ),  # correction
        d2,
        dossier("d3", "2026-01-05T10:00:00+07:00", unit="U1", channel="direct", seq=4),
        dossier("d3", "2026-01-04T10:00:00+07:00", unit="U1", seq=5),  # older version, arrives late
        d2.model_copy(update={"seq": 6}),  # resend
        training("s1", "2025-03-01T09:00:00+07:00", seq=7),  # before the member registers
        staff("s1", "2025-05-01T09:00:00+07:00", unit="U1", seq=8),
        staff("s1", "2025-09-01T09:00:00+07:00", unit="U2", seq=9),  # moves
        event(
            T.DOSSIER_RATED,
            "2025-06-01T09:00:00+07:00",
            dossier_id="d9",
            unit_id="U1",
            satisfied=True,
            seq=10,
        ),
        event(
            T.DOSSIER_RATED,
            "2025-06-01T09:00:00+07:00",
            dossier_id="d9",
            unit_id="U1",
            satisfied=False,
            seq=11,
        ),
        indicator("U1", "C17", "2025-06-01T09:00:00+07:00", 0.85, 1, seq=12),
        indicator("U1", "C17", "2025-07-01T09:00:00+07:00", 0.9, 1, seq=13),
        indicator("U1", "C99", "2025-07-01T09:00:00+07:00", 1, 1, seq=14),  # not a criterion
        event(
            T.UNIT_UPSERTED,
            "2025-01-01T00:00:00+07:00",
            unit_id="U1",
            name="UBND xã A",
            tier="commune",
            active=True,
            seq=15,
        ),
    ]
    bad = event(
        T.DOSSIER_RECEIVED,
        "2025-06-01T09:00:00+07:00",
        dossier_id="d8",
        unit_id="U1",
        procedure_id="P",
        channel="fax",
        seq=16,
    )
    expected = {
        ("U2", "dossier_received", "2026-01-02"): 1,
        ("U1", "dossier_received", "2026-01-01"): 1,
        ("U1", "dossier_online_full", "2026-01-01"): 1,
        ("U1", "dossier_received", "2026-01-05"): 1,
        ("U1", "civil_servant_active", "2025-05-01"): 1,
        ("U1", "civil_servant_digital_id", "2025-05-01"): 1,
        ("U1", "cbccvc_active", "2025-05-01"): 1,
        ("U1", "cbccvc_trained_basic_digital_skills", "2025-05-01"): 1,
        ("U1", "civil_servant_active", "2025-09-01"): -1,
        ("U1", "civil_servant_digital_id", "2025-09-01"): -1,
        ("U1", "cbccvc_active", "2025-09-01"): -1,
        ("U1", "cbccvc_trained_basic_digital_skills", "2025-09-01"): -1,
        ("U2", "civil_servant_active", "2025-09-01"): 1,
        ("U2", "civil_servant_digital_id", "2025-09-01"): 1,
        ("U2", "cbccvc_active", "2025-09-01"): 1,
        ("U2", "cbccvc_trained_basic_digital_skills", "2025-09-01"): 1,
        ("U1", "rating", "2025-06-01"): 1,
        ("U1", "indicator.C17.num", "2025-06-01"): Decimal("0.85"),
        ("U1", "indicator.C17.den", "2025-06-01"): 1,
        ("U1", "indicator.C17.num", "2025-07-01"): Decimal("0.05"),
    }
    assert fold(history, indicator_ids=IDS) == expected

    worker = Worker(kafka_bootstrap, topic_prefix, app_id, tmp_path).start()
    workers.append(worker)
    worker.wait_ready()
    produce(
        kafka_bootstrap, topic_prefix, [*history, bad], extra=[("events-dvc", b"k", b"not json")]
    )

    totals = reader.wait_for(expected, timeout=30)
    assert totals == expected, diff(totals, expected)
    sample = next(
        v for k, v in reader.latest.items() if k.startswith(b"U2|dossier_received|2026-01-02|")
    )
    assert set(sample) == {"unit_id", "measure", "day", "partition", "value"}
    assert sample["value"] == 1 and isinstance(sample["partition"], int)

    letters = read_dead_letters(kafka_bootstrap, topic_prefix)
    reasons = sorted(dict(letter.headers)["reason"].decode().split(":")[0] for letter in letters)
    assert reasons == ["invalid", "undecodable"]
    assert all(dict(letter.headers)["stage"] == b"scoring" for letter in letters)
    # ingest's format, so `thidua replay-dlq` puts each back on its topic
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["original_topic"].decode().startswith(topic_prefix)
        assert "failed_at" in headers
        assert b" (at " + headers["original_topic"] in headers["reason"]
    assert 'thidua_scoring_dead_letters_total{reason="invalid"} 1.0' in worker.metrics()
    assert worker.stop() == 0


def test_sigkill_mid_stream_neither_loses_nor_double_counts(
    kafka_bootstrap: str,
    topic_prefix: str,
    app_id: str,
    tmp_path: Path,
    reader: CounterReader,
    workers: list[Worker],
) -> None:
    history = make_events(6000, seed=7)
    first, second = history[:4000], history[4000:]
    expected = fold(history, indicator_ids=IDS)

    worker = Worker(kafka_bootstrap, topic_prefix, app_id, tmp_path, "first").start()
    workers.append(worker)
    worker.wait_ready()
    produce(kafka_bootstrap, topic_prefix, first)
    deadline = time.monotonic() + 60
    while events_scored(worker) < 1500 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.kill()  # mid-stream: a batch in hand, offsets uncommitted

    reader.poll(1)
    assert 0 < len(reader.latest), "some counters were committed before the kill"

    restarted = Worker(kafka_bootstrap, topic_prefix, app_id, tmp_path, "second").start()
    workers.append(restarted)
    produce(kafka_bootstrap, topic_prefix, second)
    restarted.wait_ready()
    totals = reader.wait_for(expected, timeout=90)
    assert totals == expected, diff(totals, expected)
    assert restarted.stop() == 0


def test_two_workers_share_the_partitions(
    kafka_bootstrap: str,
    topic_prefix: str,
    app_id: str,
    tmp_path: Path,
    reader: CounterReader,
    workers: list[Worker],
) -> None:
    """a alone, then a and b, then a alone again: at each hand-over a keeps partitions whose
    tables it restored earlier at a later changelog offset, and must restore them whole."""
    history = make_events(4500, seed=11)
    parts = [history[:1500], history[1500:3000], history[3000:]]

    def scored_up_to(n: int) -> None:
        expected = fold(history[:n], indicator_ids=IDS)
        totals = reader.wait_for(expected, timeout=90)
        assert totals == expected, diff(totals, expected)

    a = Worker(kafka_bootstrap, topic_prefix, app_id, tmp_path, "a").start()
    workers.append(a)
    a.wait_ready()
    produce(kafka_bootstrap, topic_prefix, parts[0])
    scored_up_to(1500)

    b = Worker(kafka_bootstrap, topic_prefix, app_id, tmp_path, "b").start()
    workers.append(b)
    b.wait_ready()
    produce(kafka_bootstrap, topic_prefix, parts[1])
    scored_up_to(3000)
    assert events_scored(b) > 0, "b scored a share"

    assert b.stop() == 0  # SIGTERM: b leaves, a takes over b's partitions
    produce(kafka_bootstrap, topic_prefix, parts[2])
    scored_up_to(4500)
