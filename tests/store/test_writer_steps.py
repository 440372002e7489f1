"""The writer's pure steps: decoding each topic's payloads, and batching by size and time."""

from __future__ import annotations

import time
from datetime import date

import orjson
import pytest
from kafka.structs import TopicPartition

from services.writer.batch import Batch, DeadLetter
from services.writer.decode import Router
from services.writer.rows import ALERTS, EVENTS_RAW, KPI_COUNTERS, Undecodable
from tests.store.builders import event, unit
from thidua.contracts.events import EventType
from thidua.contracts.measures import FLOW_MEASURES

PREFIX = "p."
ROUTER = Router(PREFIX, FLOW_MEASURES)


def counter(measure: str, day: str = "2025-03-01", value: float = 2) -> bytes:
    return orjson.dumps(
        {"unit_id": "A", "measure": measure, "day": day, "partition": 3, "value": value}
    )


def test_router_subscribes_every_source_topic_counters_and_alerts() -> None:
    assert "p.events-dvc" in ROUTER.topics and "p.kpi-counters" in ROUTER.topics
    assert "p.alerts" in ROUTER.topics and "p.dead-letter" not in ROUTER.topics


def test_events_become_raw_rows_and_units_move_stock_days() -> None:
    registry = ROUTER.decode("p.events-registry", 0, unit("A", "2025-01-01 00:30").to_bytes())
    assert registry.table is EVENTS_RAW and registry.stock_day == date(2025, 1, 1)
    data = {"dossier_id": "D", "unit_id": "A", "procedure_id": "P", "channel": "direct"}
    dossier = ROUTER.decode(
        "p.events-dvc", 0, event(EventType.DOSSIER_RECEIVED, "2025-02-01", data).to_bytes()
    )
    assert dossier.row[6] == "A" and dossier.stock_day is None and dossier.flow_day is None
    assert dossier.row[5] == "dossier.received:D"


def test_counters_carry_their_offset_and_kind_of_day() -> None:
    flow = ROUTER.decode("p.kpi-counters", 41, counter("rating"))
    assert flow.table is KPI_COUNTERS and flow.flow_day == date(2025, 3, 1)
    assert flow.row == ["A", "rating", date(2025, 3, 1), 3, 2.0, 41]
    stock = ROUTER.decode("p.kpi-counters", 42, counter("cbccvc_active"))
    assert stock.stock_day == date(2025, 3, 1) and stock.flow_day is None
    tombstone = ROUTER.decode("p.kpi-counters", 43, None, b"A|rating|2025-03-01|3")
    assert tombstone.row == ["A", "rating", date(2025, 3, 1), 3, 0.0, 43]


def test_alerts_format() -> None:
    alert = {
        "fingerprint": "f", "rule": "r", "unit_id": "A", "criterion": "C03", "state": "resolved",
        "severity": "critical", "summary": "s", "labels": {"k": "v"},
        "starts_at": "2025-03-02T08:00:00.000+07:00", "ends_at": "2025-03-03T08:00:00.000+07:00",
        "updated_at": "2025-03-03T08:00:00.000+07:00",
    }  # fmt: skip
    decoded = ROUTER.decode("p.alerts", 0, orjson.dumps(alert))
    assert decoded.table is ALERTS and decoded.row[7] == '{"k":"v"}'
    assert decoded.row[9].utcoffset().total_seconds() == 0 and decoded.row[9].hour == 1


@pytest.mark.parametrize(
    ("topic", "value"),
    [
        ("p.events-dvc", b"{not json"),
        ("p.events-dvc", None),
        ("p.kpi-counters", b'{"unit_id": "A"}'),
        ("p.kpi-counters", counter("rating", day="1969-12-31")),
        ("p.alerts", b"[]"),
        ("p.other", b"{}"),
        ("p.events-registry", orjson.dumps({**orjson.loads(unit("A").to_bytes()), "data": {}})),
    ],
)
def test_undecodable_messages_name_their_reason(topic: str, value: bytes | None) -> None:
    with pytest.raises(Undecodable) as exc:
        ROUTER.decode(topic, 0, value, b"bad key")
    assert str(exc.value)


def test_batch_is_ready_by_size_or_by_age() -> None:
    by_size = Batch(max_messages=2, max_seconds=60)
    decoded = ROUTER.decode("p.kpi-counters", 0, counter("rating"))
    by_size.add(TopicPartition("p.kpi-counters", 0), 5, decoded)
    assert not by_size.ready
    by_size.add_dead_letter(DeadLetter("p.kpi-counters", 1, 9, None, b"x", "bad"))
    assert by_size.ready and by_size.next_offsets[("p.kpi-counters", 1)] == 10
    by_age = Batch(max_messages=1000, max_seconds=0.05)
    assert not by_age.ready  # an empty batch is never due
    by_age.add(TopicPartition("p.kpi-counters", 0), 5, decoded)
    time.sleep(0.06)
    assert by_age.ready and by_age.flow_days == {date(2025, 3, 1)}
