"""xAPI and edXML adapters over HTTP, through the real broker."""

from __future__ import annotations

import copy
from collections.abc import Callable

import orjson
import pytest
from starlette.testclient import TestClient

from services.ingest.app import create_app
from tests.ingest.conftest import DVC, EDOC, LMS, REGISTRY, STRUCTURED, consume
from tests.ingest.test_edxml import BILLION_LAUGHS, SIGNED, UNSIGNED, XXE
from tests.ingest.test_xapi import MOODLE
from thidua.contracts.events import CanonicalEvent
from thidua.settings import IngestSettings

pytestmark = pytest.mark.integration
XAPI = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
XML = {"Content-Type": "application/xml"}


def test_lms_statements(client: TestClient, kafka_bootstrap: str, topic_prefix: str) -> None:
    attempted = copy.deepcopy(MOODLE)
    attempted["id"] = "3bd2f1a8-5c6e-4f3a-9d51-2b7c8e9f0a11"
    attempted["verb"] = {"id": "http://adlnet.gov/expapi/verbs/attempted"}
    body = orjson.dumps([MOODLE, attempted])
    r = client.post("/v1/xapi/statements", content=body, headers={**LMS, **XAPI})
    assert (r.status_code, r.json()) == (202, {"accepted": 1, "ignored": 1})
    single = client.post(
        "/v1/xapi/statements", content=orjson.dumps(MOODLE), headers={**LMS, **XAPI}
    )
    assert single.status_code == 202  # a resend: produced again, deduped by scoring
    [first, _resent] = consume(kafka_bootstrap, f"{topic_prefix}events-training", 2)
    event = CanonicalEvent.from_bytes(first.value)
    assert first.key == b"staff:CB-08-000123"
    assert (event.source, event.id) == ("/xapi/lms", MOODLE["id"])
    assert event.data == {"staff_id": "CB-08-000123", "program": "basic_digital_skills"}
    assert 'thidua_ingest_xapi_statements_ignored_total{source="lms"} 1.0' in (
        client.get("/metrics").text
    )


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({**LMS, "Content-Type": "application/json"}, orjson.dumps(MOODLE), 400),  # no version
        ({**LMS, **XAPI, "X-Experience-API-Version": "0.95"}, orjson.dumps(MOODLE), 400),
        ({**LMS, **XAPI}, b"[", 400),
        ({**DVC, **XAPI}, orjson.dumps(MOODLE), 403),
        ({**LMS, **XAPI, "Content-Type": "text/plain"}, orjson.dumps(MOODLE), 415),
        ({**LMS, **XAPI}, orjson.dumps([MOODLE, {"actor": {}}]), 422),
        (XAPI, orjson.dumps(MOODLE), 401),
    ],
)
def test_xapi_errors(client: TestClient, headers: dict[str, str], body: bytes, status: int) -> None:
    r = client.post("/v1/xapi/statements", content=body, headers=headers)
    assert r.status_code == status, r.text


def _register_units(client: TestClient) -> None:
    units = [
        {
            "unit_id": "sotttt",
            "name": "Sở Thông tin và Truyền thông",
            "tier": "province_agency",
            "organ_ids": ["000.00.12.H56"],
            "active": True,
        },
        {
            "unit_id": "sonoivu",
            "name": "Sở Nội vụ",
            "tier": "province_agency",
            "organ_ids": ["000.00.13.H56"],
            "active": True,
        },
    ]
    batch = [
        {
            "specversion": "1.0",
            "id": f"unit-{u['unit_id']}",
            "source": "/registry",
            "type": "vn.thidua.unit.upserted",
            "time": "2025-01-01T00:00:00+07:00",
            "data": u,
        }
        for u in units
    ]
    r = client.post(
        "/v1/events",
        content=orjson.dumps(batch),
        headers={**REGISTRY, "Content-Type": "application/cloudevents-batch+json"},
    )
    assert r.status_code == 202, r.text


def test_edxml_with_and_without_signature(
    settings_for: Callable[..., IngestSettings], kafka_bootstrap: str, topic_prefix: str
) -> None:
    with TestClient(create_app(settings_for(ingest_registry_wait_seconds=5))) as client:
        _register_units(client)  # just before: ingest catches up with the registry topic
        for body in (SIGNED, UNSIGNED):
            r = client.post("/v1/edxml", content=body, headers={**EDOC, **XML})
            assert (r.status_code, r.json()) == (202, {"accepted": 1}), r.text
    records = consume(kafka_bootstrap, f"{topic_prefix}events-edoc", 2)
    by_id = {e.id: e for e in (CanonicalEvent.from_bytes(r.value) for r in records)}
    signed = by_id["000.00.12.H56,2025/03/14,215/STTTT-CĐS"]
    unsigned = by_id["000.00.12.H56,2025/03/14,216/STTTT-CĐS"]
    assert signed.data["digitally_signed"] and not unsigned.data["digitally_signed"]
    assert signed.data["from_unit"] == "sotttt" and signed.data["to_units"] == ["sonoivu"]
    assert signed.source == "/edxml/edoc"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({**EDOC, **XML}, BILLION_LAUGHS, 400),
        ({**EDOC, **XML}, XXE, 400),
        ({**EDOC, **XML}, b"<unclosed>", 400),
        ({**EDOC, **XML}, b"<root/>", 422),
        ({**EDOC, **XML}, SIGNED, 422),  # no unit has these OrganIds
        ({**DVC, **XML}, SIGNED, 403),
        ({**EDOC, **STRUCTURED}, SIGNED, 415),
        (XML, SIGNED, 401),
    ],
)
def test_edxml_errors(
    settings_for: Callable[..., IngestSettings], headers: dict[str, str], body: bytes, status: int
) -> None:
    with TestClient(create_app(settings_for(ingest_registry_wait_seconds=0.3))) as client:
        r = client.post("/v1/edxml", content=body, headers=headers)
    assert r.status_code == status, r.text


def test_oversized_xml_is_413_before_parsing(settings_for: Callable[..., IngestSettings]) -> None:
    with TestClient(create_app(settings_for(ingest_max_body_bytes=2048))) as client:
        body = b"<a>" + b"<b>x</b>" * 1000 + b"</a>"
        r = client.post("/v1/edxml", content=body, headers={**EDOC, **XML})
    assert r.status_code == 413
