"""The DVCQG adapter over HTTP, through the real broker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer
from starlette.testclient import TestClient

from services.ingest.app import create_app
from tests.ingest.conftest import DVC, EDOC, SIMULATOR, STRUCTURED, consume
from tests.ingest.test_adapters_http import _register_units
from tests.ingest.test_dvcqg import CSHARP, OPENCPS
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.kafka_admin import ensure_topics
from thidua.settings import IngestSettings

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


def test_portal_clients(
    settings_for: Callable[..., IngestSettings], kafka_bootstrap: str, topic_prefix: str
) -> None:
    catalogue = {
        "service": "LayDanhSachTTHC",
        "data": [
            # the version in force when the dossier was received (NgayCapNhat before it)
            {
                "MaTTHC": "1.004594",
                "MucDo": "4",
                "MaCoQuan": "000.00.12.H56",
                "NgayCapNhat": "20250101000000",
            }
        ],
    }
    with TestClient(create_app(settings_for(ingest_registry_wait_seconds=5))) as client:
        _register_units(client)
        r = client.post(
            "/v1/dvcqg/procedures",
            content=orjson.dumps(catalogue),
            headers={**DVC, **JSON},
        )
        assert r.status_code == 202, r.text
        assert r.json() == {
            "error_code": 0,
            "message": "Đã tiếp nhận 1 thủ tục",
            "accepted": 1,
            "ignored": 0,
        }
        r = client.post(
            "/v1/dvcqg/dossiers?MaDinhDanhDV=000.00.12.H56",
            content=CSHARP,
            headers={**SIMULATOR, **JSON},
        )
        assert (r.status_code, r.json()["error_code"], r.json()["accepted"]) == (202, 0, 1)
        r = client.post("/v1/dvcqg/dossiers", content=OPENCPS, headers={**DVC, **JSON})
        assert r.status_code == 202, r.text
    records = consume(kafka_bootstrap, f"{topic_prefix}events-dvc", 3)
    assert len(records) == 3
    by_dossier = {}
    for record in records:
        event = CanonicalEvent.from_bytes(record.value)
        if "dossier_id" in event.data:
            by_dossier[event.data["dossier_id"]] = (record.key, event)
    key, csharp = by_dossier["000.00.12.H56-250302-0002"]
    assert key == b"dossier.received:000.00.12.H56-250302-0002"
    assert csharp.source == "/dvcqg/simulator"
    assert csharp.data["channel"] == "online_full" and csharp.data["unit_id"] == "sotttt"
    _, opencps = by_dossier["000.00.12.H56-250301-0001"]
    assert opencps.data["channel"] == "direct" and opencps.source == "/dvcqg/dvc-portal"


def _post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/v1/dvcqg/dossiers", content=body, headers=headers)


def _one(**changes: Any) -> bytes:
    item = orjson.loads(CSHARP)[0]
    item.update(changes)
    return orjson.dumps({"service": "DongBoHoSoMC", "isUpdating": "True", "data": [item]})


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (JSON, CSHARP, 401),
        ({**EDOC, **JSON}, CSHARP, 403),
        ({**DVC, "Content-Type": "application/xml"}, CSHARP, 415),
        ({**DVC, **JSON}, b"{", 400),
        ({**DVC, **JSON}, b'{"service": "DongBoHoSoMC", "data": 3}', 400),
        ({**DVC, **JSON}, _one(TrangThaiHoSo="42"), 422),
        ({**DVC, **JSON}, _one(NgayTiepNhan="2025-02-30"), 422),
        ({**DVC, **JSON}, _one(MaHoSo=["x"]), 422),
        ({**DVC, **JSON}, _one(DonViXuLy="000.00.99.H99"), 422),  # no such unit
    ],
)
def test_refusals_in_the_portal_shape(
    settings_for: Callable[..., IngestSettings],
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    with TestClient(create_app(settings_for(ingest_registry_wait_seconds=0.3))) as client:
        r = _post(client, body, headers)
    assert r.status_code == status, r.text
    answer = r.json()
    assert answer["error_code"] == status and answer["message"] == answer["error"]
    if status == 422:
        [problem] = answer["errors"]
        assert problem["index"] == 0 and problem["reason"]


def test_progress_updates_are_acknowledged_and_ignored(
    settings_for: Callable[..., IngestSettings],
) -> None:
    progress = {"service": "CapNhatTienDoHoSoMC", "data": [
        {"MaHoSo": "000.00.12.H56-250302-0002", "NguoiXuLy": "Chuyên viên", "ChucDanh": "",
         "ThoiDiemXuLy": "20250303090000", "PhongBanXuLy": "", "NoiDungXuLy": "Thẩm định",
         "TrangThai": "4", "NgayBatDau": "", "NgayKetThucTheoQuyDinh": ""}]}  # fmt: skip
    with TestClient(create_app(settings_for())) as client:
        r = _post(client, orjson.dumps(progress), {**DVC, **JSON})
        bad = _post(client, b'{"service": "CapNhatTienDoHoSoMC", "data": [{}]}', {**DVC, **JSON})
    assert (r.status_code, r.json()["accepted"], r.json()["ignored"]) == (202, 0, 1)
    assert (bad.status_code, bad.json()["errors"]) == (
        422,
        [{"index": 0, "reason": "MaHoSo is required"}],
    )


def test_unknown_unit_is_named(settings_for: Callable[..., IngestSettings]) -> None:
    with TestClient(create_app(settings_for(ingest_registry_wait_seconds=0.3))) as client:
        r = _post(client, _one(DonViXuLy="000.00.99.H99"), {**DVC, **JSON})
    assert r.json()["errors"] == [
        {"index": 0, "reason": "unknown unit code '000.00.99.H99' (DonViXuLy)"}
    ]


def test_ten_mebibytes_is_413(settings_for: Callable[..., IngestSettings]) -> None:
    body = b'{"service": "DongBoHoSoMC", "data": [' + b'{"MaHoSo": "x"},' * 700_000 + b"{}]}"
    assert len(body) > 10 * 1024 * 1024
    with TestClient(create_app(settings_for())) as client:
        r = _post(client, body, {**DVC, **JSON})
        too_many = _post(client, orjson.dumps([orjson.loads(CSHARP)[0]] * 1001), {**DVC, **JSON})
    assert (r.status_code, r.json()["error_code"]) == (413, 413)
    assert too_many.status_code == 413


def test_procedures_from_cloudevents_and_from_history(
    settings_for: Callable[..., IngestSettings], kafka_bootstrap: str, topic_prefix: str
) -> None:
    """The catalogue knows procedures sent as CloudEvents (ingest's own copy) and those on the
    DVC topic from before the copies existed (read once at start)."""
    ensure_topics(kafka_bootstrap, topic_prefix, 2)
    old = CanonicalEvent(
        source="/dvc/old", id="old-1", type=EventType.PROCEDURE_UPSERTED,
        time=datetime(2025, 1, 1, tzinfo=UTC), seq=1,
        data={"procedure_id": "P-OLD", "unit_id": "sotttt", "full_online_eligible": True,
              "full_online": True, "mobile": False},
    )  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(f"{topic_prefix}events-dvc", key=b"procedure:P-OLD", value=old.to_bytes())
    producer.flush()
    producer.close()
    new = {"specversion": "1.0", "id": "new-1", "source": "/dvc/portal",
           "type": "vn.thidua.dvc.procedure.upserted", "time": "2025-01-01T00:00:00+07:00",
           "data": {"procedure_id": "P-NEW", "unit_id": "sotttt", "full_online_eligible": True,
                    "full_online": True, "mobile": True}}  # fmt: skip
    items = [orjson.loads(_one(MaHoSo=f"D-{p}", MaTTHC=p))["data"][0] for p in ("P-OLD", "P-NEW")]
    with TestClient(create_app(settings_for(ingest_registry_wait_seconds=5))) as client:
        _register_units(client)
        r = client.post("/v1/events", content=orjson.dumps(new), headers={**DVC, **STRUCTURED})
        assert r.status_code == 202, r.text
        r = _post(client, orjson.dumps(items), {**DVC, **JSON})
        assert r.status_code == 202, r.text
    records = consume(kafka_bootstrap, f"{topic_prefix}events-dvc", 4)
    channels = {
        e.data["dossier_id"]: e.data["channel"]
        for e in (CanonicalEvent.from_bytes(r.value) for r in records)
        if e.type is EventType.DOSSIER_RECEIVED
    }
    assert channels == {"D-P-OLD": "online_full", "D-P-NEW": "online_full"}
