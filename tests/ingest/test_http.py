"""Ingest over HTTP against the real broker: every mode, every error code, resends, metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import orjson
import pytest
from starlette.testclient import TestClient

from services.ingest.app import create_app
from tests.ingest.conftest import (
    BATCH,
    DVC,
    LMS,
    SIMULATOR,
    STRUCTURED,
    consume,
    dossier,
)
from thidua.contracts.events import CanonicalEvent
from thidua.settings import IngestSettings

pytestmark = pytest.mark.integration


def test_structured_batch_and_binary_modes_reach_kafka_keyed_and_in_order(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    r = client.post("/v1/events", content=orjson.dumps(dossier(1)), headers={**DVC, **STRUCTURED})
    assert (r.status_code, r.json()) == (202, {"accepted": 1})
    correction = dossier(2, id="dvc-000002-fix", time="2025-03-01T11:00:00+07:00")
    correction["data"]["channel"] = "direct"
    batch = [dossier(2), dossier(3), correction]
    r = client.post("/v1/events", content=orjson.dumps(batch), headers={**DVC, **BATCH})
    assert (r.status_code, r.json()) == (202, {"accepted": 3})
    binary = {
        **DVC,
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "dvc-000004",
        "ce-source": "/dvc/tuyenquang",
        "ce-type": "vn.thidua.dvc.dossier.rated",
        "ce-time": "2025-03-02T08:00:00+07:00",
    }
    data = {"dossier_id": "H08.000004", "unit_id": "sotttt", "satisfied": True}
    r = client.post("/v1/events", content=orjson.dumps(data), headers=binary)
    assert (r.status_code, r.json()) == (202, {"accepted": 1})

    records = consume(kafka_bootstrap, f"{topic_prefix}events-dvc", 5)
    events = {
        CanonicalEvent.from_bytes(r.value).id: (r, CanonicalEvent.from_bytes(r.value))
        for r in records
    }
    assert set(events) == {"dvc-000001", "dvc-000002", "dvc-000003", "dvc-000002-fix", "dvc-000004"}
    first, fix = events["dvc-000002"], events["dvc-000002-fix"]
    # Both versions of one dossier: same key, same partition, array order in seq and offset.
    assert first[0].key == fix[0].key == b"dossier.received:H08.000002"
    assert first[0].partition == fix[0].partition and first[0].offset < fix[0].offset
    assert first[1].seq < events["dvc-000003"][1].seq < fix[1].seq
    assert events["dvc-000004"][1].data == data
    assert fix[1].data["channel"] == "direct"


def test_invalid_batch_is_all_or_nothing_with_every_index(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    bad_channel = dossier(2)
    bad_channel["data"]["channel"] = "fax"
    no_time = dossier(4)
    del no_time["time"]
    batch = [dossier(1), bad_channel, dossier(3, type="vn.thidua.dvc.unknown"), no_time]
    r = client.post("/v1/events", content=orjson.dumps(batch), headers={**DVC, **BATCH})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3]
    assert "channel" in errors[0]["reason"] and "unknown type" in errors[1]["reason"]
    assert "time is required" in errors[2]["reason"]
    assert consume(kafka_bootstrap, f"{topic_prefix}events-dvc", 1, timeout=2) == []


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({**DVC, **STRUCTURED}, b"{not json", 400),
        ({**DVC, **STRUCTURED}, b"[]", 400),
        ({**DVC, **BATCH}, b'{"a":1}', 400),
        ({**DVC, "Content-Type": "application/json"}, b"{}", 400),  # no ce-* headers
        (STRUCTURED, orjson.dumps(dossier(1)), 401),
        ({"Authorization": "Bearer not-a-token", **STRUCTURED}, orjson.dumps(dossier(1)), 401),
        ({"Authorization": "Basic dXNlcjpwYXNz", **STRUCTURED}, orjson.dumps(dossier(1)), 401),
        ({**LMS, **STRUCTURED}, orjson.dumps(dossier(1)), 403),
        ({**DVC, "Content-Type": "text/plain"}, b"hello", 415),
        ({**DVC, **STRUCTURED}, orjson.dumps(dossier(1, time="2025-03-01 10:00")), 422),
    ],
)
def test_error_codes(client: TestClient, headers: dict[str, str], body: bytes, status: int) -> None:
    r = client.post("/v1/events", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert "error" in r.json()
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_forbidden_source_lists_the_event(
    settings_for: Callable[..., IngestSettings], tmp_path: object
) -> None:
    app = create_app(settings_for())
    with TestClient(app) as client:
        batch = [dossier(1), {**dossier(2), "type": "vn.thidua.staff.upserted"}]
        r = client.post("/v1/events", content=orjson.dumps(batch), headers={**DVC, **BATCH})
    assert r.status_code == 403
    assert r.json()["errors"] == [
        {"index": 1, "reason": "dvc-portal may not send vn.thidua.staff.upserted"}
    ]


def test_limits_give_413_and_overload_429(settings_for: Callable[..., IngestSettings]) -> None:
    settings = settings_for(ingest_max_body_bytes=4096, ingest_max_events=3, ingest_max_pending=4)
    with TestClient(create_app(settings)) as client:
        big = orjson.dumps([dossier(i) for i in range(30)])
        assert client.post("/v1/events", content=big, headers={**DVC, **BATCH}).status_code == 413

        def chunks() -> object:  # no Content-Length: the limit holds while streaming
            yield big

        r = client.post("/v1/events", content=chunks(), headers={**DVC, **BATCH})
        assert r.status_code == 413
        four = orjson.dumps([dossier(i) for i in range(4)])
        r = client.post("/v1/events", content=four, headers={**DVC, **BATCH})
        assert r.status_code == 413 and "4 events" in r.json()["error"]
        # Producer queue bound: 3 events in one request fit, but not with 2 more pending.
        client.app.state.ingest.producer._pending = 2  # type: ignore[attr-defined]
        three = orjson.dumps([dossier(i) for i in range(3)])
        r = client.post("/v1/events", content=three, headers={**DVC, **BATCH})
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        client.app.state.ingest.producer._pending = 0  # type: ignore[attr-defined]
        r = client.post("/v1/events", content=three, headers={**DVC, **BATCH})
        assert r.status_code == 202


def test_resend_across_restart_is_accepted_with_the_same_source_and_id(
    settings_for: Callable[..., IngestSettings], kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Ingest produces the resend; scoring's durable (source, id) dedupe makes it a no-op
    (checked end to end by the pipeline tests). Here: 202 both times, same identity."""
    body = orjson.dumps(dossier(9))
    for _restart in range(2):
        with TestClient(create_app(settings_for())) as client:
            r = client.post("/v1/events", content=body, headers={**DVC, **STRUCTURED})
            assert (r.status_code, r.json()) == (202, {"accepted": 1})
    first, second = (
        CanonicalEvent.from_bytes(r.value)
        for r in consume(kafka_bootstrap, f"{topic_prefix}events-dvc", 2)
    )
    assert (first.source, first.id, first.data, first.time) == (
        second.source,
        second.id,
        second.data,
        second.time,
    )
    assert first.seq < second.seq


def test_metrics_count_by_source_type_and_reason(client: TestClient) -> None:
    client.post("/v1/events", content=orjson.dumps(dossier(1)), headers={**DVC, **STRUCTURED})
    client.post("/v1/events", content=b"{", headers={**DVC, **STRUCTURED})
    text = client.get("/metrics").text
    assert (
        'thidua_ingest_events_accepted_total{source="dvc-portal",'
        'type="vn.thidua.dvc.dossier.received"}'
    ) in text
    assert 'reason="malformed",source="dvc-portal"' in text
    assert "thidua_ingest_request_seconds_bucket" in text
    assert "thidua_ingest_producer_queue_depth" in text
    # when each source system last had a request accepted (alert ThiduaSourceSilent)
    last = re.search(
        r'^thidua_ingest_last_accepted_timestamp_seconds\{source="dvc-portal"\} (\S+)$', text, re.M
    )
    assert last and abs(float(last.group(1)) - time.time()) < 60
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_open_dev_mode_needs_no_token(settings_for: Callable[..., IngestSettings]) -> None:
    with TestClient(create_app(settings_for(ingest_tokens_file=None, ingest_open=True))) as c:
        r = c.post("/v1/events", content=json.dumps(dossier(1)), headers=STRUCTURED)
    assert r.status_code == 202


def test_simulator_token_may_send_every_type(client: TestClient) -> None:
    staff = dossier(
        1,
        type="vn.thidua.staff.upserted",
        data={
            "staff_id": "CB-1",
            "unit_id": "sotttt",
            "category": "civil_servant",
            "digital_id": True,
            "active": True,
        },
    )
    r = client.post("/v1/events", content=orjson.dumps(staff), headers={**SIMULATOR, **STRUCTURED})
    assert r.status_code == 202


def test_unacknowledged_delivery_is_503_and_nothing_counted(client: TestClient) -> None:
    from services.ingest.producer import DeliveryFailed

    producer = client.app.state.ingest.producer  # type: ignore[attr-defined]
    real = producer.produce

    async def broker_down(events: object) -> int:
        raise DeliveryFailed("Kafka did not acknowledge records for events-dvc: timeout")

    producer.produce = broker_down
    try:
        r = client.post(
            "/v1/events", content=orjson.dumps(dossier(1)), headers={**DVC, **STRUCTURED}
        )
    finally:
        producer.produce = real
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "did not acknowledge" in r.json()["error"]


def test_docs_without_a_cdn(client: TestClient) -> None:
    from tests.offline_docs import assert_docs_served_locally

    assert_docs_served_locally(client)
