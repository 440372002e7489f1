"""The DVCQG (DongBoHoSoMC) mapping, pure: every rule of services/ingest/dvcqg.py's table."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.ingest import dvcqg, dvcqg_catalogue
from services.ingest.cloudevents import MalformedRequest
from services.ingest.dvcqg import LOCAL, on_time, processing_end
from services.ingest.procedures import ProcedureMap
from thidua.contracts.events import CanonicalEvent, EventType, validate_data

PAYLOADS = Path(__file__).parent / "payloads"
OPENCPS = (PAYLOADS / "dvcqg-opencps-dongbohosomc.json").read_bytes()
CSHARP = (PAYLOADS / "dvcqg-csharp-hosodongbodvc.json").read_bytes()
UNITS = {"000.00.12.H56": "sotttt", "000.00.13.H56": "sonoivu"}
NOW = datetime(2025, 6, 1, tzinfo=LOCAL)


def at(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=LOCAL)


def procedures(*versions: tuple[str, str, bool]) -> ProcedureMap:
    catalogue = ProcedureMap()
    for seq, (procedure_id, stamp, full) in enumerate(versions):
        catalogue.apply(
            CanonicalEvent(
                source="/t",
                id=f"p{seq}",
                type=EventType.PROCEDURE_UPSERTED,
                time=at(stamp),
                seq=seq,
                data={
                    "procedure_id": procedure_id,
                    "unit_id": "sotttt",
                    "full_online_eligible": True,
                    "full_online": full,
                    "mobile": False,
                },
            )
        )
    return catalogue


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = copy.deepcopy(orjson.loads(CSHARP)[0])
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def mapped(
    items: list[Any], catalogue: ProcedureMap | None = None, body_unit: str = ""
) -> list[dict[str, Any]]:
    dossiers, problems = dvcqg.read_dossiers(items, body_unit)
    assert problems == []
    events, problems = dvcqg.to_events(dossiers, UNITS, catalogue or ProcedureMap(), "/t", NOW)
    assert problems == []
    for e in events:  # built without pydantic: exactly what validation would give
        assert validate_data(EventType.DOSSIER_RECEIVED, e.data) == e.data
    return [{"id": e.id, "time": e.time, **e.data} for e in events]


def problems_of(items: list[Any]) -> list[tuple[int, str]]:
    dossiers, problems = dvcqg.read_dossiers(items)
    if not problems:
        _, problems = dvcqg.to_events(dossiers, UNITS, ProcedureMap(), "/t", NOW)
    return [(p.index, p.reason) for p in problems]


def test_opencps_body() -> None:
    body = dvcqg.parse_body(OPENCPS)
    assert body.unit_code == "000.00.12.H56" and len(body.items) == 1
    [event] = mapped(body.items, body_unit=body.unit_code)
    # DonViXuLy is the agency's name in OpenCPS: the body's madonvi gives the unit.
    assert event["unit_id"] == "sotttt"
    assert event["dossier_id"] == "000.00.12.H56-250301-0001"
    assert event["procedure_id"] == "1.001612"
    assert event["time"] == at("20250301083000")
    assert event["channel"] == "direct"  # OpenCPS sends no KenhThucHien
    assert event["on_time"] is True and event["digitised"] is False
    assert "paid_online" not in event  # no fee


def test_csharp_array() -> None:
    body = dvcqg.parse_body(CSHARP)
    assert body.unit_code == ""
    [event] = mapped(body.items, procedures(("1.004594", "20250101000000", True)))
    assert event["unit_id"] == "sotttt" and event["channel"] == "online_full"
    assert event["due_at"] == "2025-03-10T17:00:00+07:00"
    # finished 12/3 11:00, supplement pause 4/3 10:00 → 6/3 10:00 (2 days) off: 10/3 11:00.
    assert event["finished_at"] == "2025-03-10T11:00:00+07:00"
    assert event["on_time"] is True
    assert event["digitised"] is True and event["paid_online"] is True


def test_progress_bodies_are_recognised() -> None:
    body = b'{"service": "CapNhatTienDoHoSoMC", "data": [{"MaHoSo": "X", "TrangThai": "4"}]}'
    assert dvcqg.parse_body(body).progress
    assert not dvcqg.parse_body(OPENCPS).progress


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b'"x"', "JSON object"),
        (b'{"service": "LayThuTuc", "data": []}', "service must be"),
        (b'{"service": "DongBoHoSoMC", "isUpdating": "maybe", "data": []}', "isUpdating"),
        (b'{"service": "DongBoHoSoMC", "data": {}}', "'data' must be"),
    ],
)
def test_unreadable_bodies(body: bytes, message: str) -> None:
    with pytest.raises(MalformedRequest, match=message):
        dvcqg.parse_body(body)


@pytest.mark.parametrize(
    ("kenh", "catalogue", "channel"),
    [
        ("1", None, "direct"),
        (1, None, "direct"),
        ("3", None, "postal"),
        ("2", None, "online_partial"),  # unknown procedure
        ("2", [("1.004594", "20250101000000", True)], "online_full"),
        ("2", [("1.004594", "20250101000000", False)], "online_partial"),
        # full-online only from after the dossier was received
        ("2", [("1.004594", "20250401000000", True)], "online_partial"),
        # full-online then withdrawn before: the version at the time decides
        (
            "2",
            [("1.004594", "20250101000000", True), ("1.004594", "20250201000000", False)],
            "online_partial",
        ),
        ("2", [("1.004594", "20250302091500", True)], "online_full"),  # at that very second
    ],
)
def test_channel(kenh: Any, catalogue: list[Any] | None, channel: str) -> None:
    [event] = mapped([item(KenhThucHien=kenh)], procedures(*(catalogue or [])))
    assert event["channel"] == channel


def test_never_received_dossiers_are_not_emitted() -> None:
    items = [item(TrangThaiHoSo="1", NgayTiepNhan=""), item(MaHoSo="B", TrangThaiHoSo=3)]
    items.append(item(MaHoSo="C", TrangThaiHoSo="2"))
    dossiers, problems = dvcqg.read_dossiers(items)
    assert problems == [] and [d.received for d in dossiers] == [False, False, True]
    assert [e["dossier_id"] for e in mapped(items)] == ["C"]


def test_duplicates_in_a_batch_later_wins() -> None:
    events = mapped(
        [item(KenhThucHien="1"), item(MaHoSo="X", KenhThucHien="1"), item(KenhThucHien="3")]
    )
    assert [(e["dossier_id"], e["channel"]) for e in events] == [
        ("X", "direct"),
        ("000.00.12.H56-250302-0002", "postal"),
    ]


def test_versions_of_one_dossier() -> None:
    [first] = mapped([item(TrangThaiHoSo="4", NgayKetThucXuLy="")])
    [again] = mapped([item(TrangThaiHoSo="4", NgayKetThucXuLy="")])
    [update] = mapped([item()])
    assert first["id"] == again["id"]  # a resend: no further effect
    assert update["id"] != first["id"] and update["id"].startswith(first["dossier_id"] + "#")
    assert update["time"] == first["time"]  # same time: the one accepted later wins


def test_unit_resolution() -> None:
    [event] = mapped([item(DonViXuLy="", MaCoQuan="000.00.13.H56")])
    assert event["unit_id"] == "sonoivu"
    assert problems_of([item(DonViXuLy="999.99.99.H00")]) == [
        (0, "unknown unit code '999.99.99.H00' (DonViXuLy)")
    ]
    assert problems_of([item(DonViXuLy="")]) == [(0, "DonViXuLy (the unit's code) is required")]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"MaHoSo": 12}, "MaHoSo must be a string"),
        ({"MaHoSo": ""}, "MaHoSo is required"),
        ({"MaHoSo": "x" * 201}, "MaHoSo is longer than 200 characters"),
        ({"MaTTHC": None}, "MaTTHC is required"),
        ({"TrangThaiHoSo": "11"}, "unknown TrangThaiHoSo 11 (expected 1–10)"),
        ({"TrangThaiHoSo": "done"}, "TrangThaiHoSo must be a number code, not 'done'"),
        ({"TrangThaiHoSo": True}, "TrangThaiHoSo must be a number code, not 'True'"),
        ({"KenhThucHien": "4"}, "unknown KenhThucHien 4 (expected 1–3)"),
        ({"NgayTiepNhan": "2025-13-01"}, "NgayTiepNhan '2025-13-01' is not a date yyyyMMddHHmmss"),
        ({"NgayTiepNhan": "20250230120000"}, "NgayTiepNhan '20250230120000' is not a date"),
        ({"NgayTiepNhan": 20250302091500}, "NgayTiepNhan must be a string yyyyMMddHHmmss"),
        ({"NgayTiepNhan": ""}, "NgayTiepNhan is required"),
        ({"NgayHenTra": "soon"}, "NgayHenTra 'soon' is not a date yyyyMMddHHmmss"),
        ({"HoSoCoThanhPhanSoHoa": "yes"}, "HoSoCoThanhPhanSoHoa must be a number code"),
        ({"DuocThanhToanTrucTuyen": "5"}, "unknown DuocThanhToanTrucTuyen 5 (expected 0–3)"),
        ({"TaiLieuNop": "x"}, "TaiLieuNop must be an array of objects"),
        ({"DanhSachLePhi": [{"Gia": "free"}]}, "DanhSachLePhi[0].Gia 'free' is no number"),
        ({"DanhSachHoSoBoSung": [{}]}, "DanhSachHoSoBoSung[0].NgayBoSung is required"),
        ({"NgayTiepNhan": "19990101000000"}, "NgayTiepNhan must be after 2000-01-01"),
        ({"NgayTiepNhan": "20250603000000"}, "at most 24 h from now"),
    ],
)
def test_invalid_items(changes: dict[str, Any], reason: str) -> None:
    items = [item(MaHoSo="ok"), item(**changes)]
    [(index, found)] = problems_of(items)
    assert index == 1 and reason in found


def test_every_invalid_item_is_reported() -> None:
    assert [i for i, _ in problems_of([1, item(), "x", item(MaTTHC=3)])] == [0, 2, 3]


# --- the 766 rules ------------------------------------------------------------------------

DUE = at("20250310170000")


@pytest.mark.parametrize(
    ("status", "finished", "returned", "supplements", "expected"),
    [
        # finished exactly at the due time: on time (<=)
        (9, "20250310170000", None, [], True),
        (9, "20250310170001", None, [], False),
        # status 10 without NgayKetThucXuLy: the return date is the end
        (10, None, "20250310160000", [], True),
        (10, None, "20250311080000", [], False),
        # finished, but not yet returned (9) and no end date: still processing
        (4, None, None, [], None),
        # late by 2 days but paused 2 days for a supplement: on time
        (9, "20250312170000", None, [("20250304100000", "20250306100000")], True),
        # two answered supplements: both pauses off
        (
            9,
            "20250313170000",
            None,
            [("20250304100000", "20250305100000"), ("20250306100000", "20250308100000")],
            True,
        ),
        # waiting for the citizen (one request): the clock stops at the request
        (5, None, None, [("20250309100000", None)], True),
        (5, None, None, [("20250311100000", None)], False),
        # waiting after more than one request: late, whatever the dates
        (5, None, None, [("20250304100000", "20250305100000"), ("20250306100000", None)], False),
    ],
)
def test_on_time_rule(
    status: int,
    finished: str | None,
    returned: str | None,
    supplements: list[tuple[str, str | None]],
    expected: bool | None,
) -> None:
    pauses = [(at(a), at(b) if b else None) for a, b in supplements]
    end, late = processing_end(
        status, at(finished) if finished else None, at(returned) if returned else None, pauses
    )
    assert on_time(DUE, end, late) is expected


def test_on_time_needs_a_due_date() -> None:
    assert on_time(None, at("20250301000000"), False) is None


def test_supplement_from_ngay_yeu_cau_bo_sung() -> None:
    [event] = mapped(
        [
            item(
                DanhSachHoSoBoSung=[],
                NgayKetThucXuLy="",
                TrangThaiHoSo="5",
                NgayYeuCauBoSung="20250305080000",
            )
        ]
    )
    assert event["finished_at"] == "2025-03-05T08:00:00+07:00" and event["on_time"] is True


@pytest.mark.parametrize(
    ("changes", "digitised", "paid"),
    [
        ({}, True, True),
        ({"HoSoCoThanhPhanSoHoa": "0"}, True, True),  # a TaiLieuNop DuocSoHoa = 1
        ({"HoSoCoThanhPhanSoHoa": "0", "TaiLieuNop": []}, False, True),
        ({"HoSoCoThanhPhanSoHoa": 1, "TaiLieuNop": []}, True, True),
        ({"DuocThanhToanTrucTuyen": "2"}, True, True),  # via the province's payment gateway
        ({"DuocThanhToanTrucTuyen": "3"}, True, False),
        ({"DuocThanhToanTrucTuyen": "0"}, True, False),  # a fee is due, not paid online
        ({"DuocThanhToanTrucTuyen": "0", "DanhSachLePhi": [{"Gia": "0"}]}, True, None),
        ({"DuocThanhToanTrucTuyen": "", "DanhSachLePhi": []}, True, None),
    ],
)
def test_digitised_and_paid(changes: dict[str, Any], digitised: bool, paid: bool | None) -> None:
    [event] = mapped([item(**changes)])
    assert event["digitised"] is digitised
    assert event.get("paid_online") is paid


def test_dates_read_as_local_time() -> None:
    [event] = mapped([item(NgayHenTra="2025-03-10T10:00:00Z")])
    assert event["due_at"] == "2025-03-10T17:00:00+07:00"
    assert dvcqg.moment({"d": "20250301000000"}, "d") == datetime(
        2025, 2, 28, 17, tzinfo=LOCAL
    ) + timedelta(hours=7)


# --- the procedure catalogue ----------------------------------------------------------------


def test_procedures() -> None:
    items = [
        {"MaTTHC": "1.001612", "MucDo": "4", "MaCoQuan": "000.00.12.H56", "CoTrenDiDong": "1"},
        {"MATTHC": "1.004594", "MUCDO": 3, "COQUANTHUCHIEN": [{"MADONVI": "000.00.13.H56"}]},
        {
            "MaTTHC": "2.000001",
            "MucDo": "4",
            "DuDieuKienToanTrinh": "0",
            "NgayCapNhat": "20250101000000",
        },
    ]
    found, problems = dvcqg_catalogue.read_procedures(items, "000.00.12.H56")
    assert problems == []
    events, problems = dvcqg_catalogue.to_events(found, UNITS, "/t", NOW)
    assert problems == []
    assert [e.data for e in events] == [
        {
            "procedure_id": "1.001612",
            "unit_id": "sotttt",
            "full_online_eligible": True,
            "full_online": True,
            "mobile": True,
        },
        {
            "procedure_id": "1.004594",
            "unit_id": "sonoivu",
            "full_online_eligible": True,
            "full_online": False,
            "mobile": False,
        },
        {
            "procedure_id": "2.000001",
            "unit_id": "sotttt",
            "full_online_eligible": False,
            "full_online": True,
            "mobile": False,
        },
    ]
    assert events[0].time == NOW and events[2].time == at("20250101000000")


def test_procedure_problems() -> None:
    items = [
        {"MaTTHC": "a", "MucDo": "5", "MaCoQuan": "x"},
        {"MucDo": 4},
        {"MaTTHC": "b", "MucDo": 2},
    ]
    _, problems = dvcqg_catalogue.read_procedures(items)
    assert [(p.index, p.reason) for p in problems] == [
        (0, "unknown MUCDO 5 (expected 1–4)"),
        (1, "MATTHC is required"),
        (2, "MaCoQuan (the unit's code) is required"),
    ]
