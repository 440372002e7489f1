"""The national public-service portal's dossier sync (``DongBoHoSoMC``) → ``dossier.received``.

Every one-stop-shop system already pushes its dossiers to Cổng DVC quốc gia in this format;
pointing it here needs no change to the source software. Sources each rule follows:

- [OCPS] VietOpenCPS/opencps-v2, ``DVCQGIntegrationActionImpl.java`` (``syncDossier``: body
  ``{"service": "DongBoHoSoMC", "isUpdating": "True"|"False", "data": [...]}``, ``madonvi``
  beside it; ``createSyncDossierBodyRequest``: one dossier's fields) and
  ``DVCQGIntegrationActionTerm.java`` (field names; dates ``yyyyMMddHHmmss`` in
  Asia/Ho_Chi_Minh; ``error_code`` answers).
- [CS] HuanVu201/DichVuCong_KhoaLuan_PASETO, the ``SyncDataToDVCQG.HoSoDongBoDVC`` class and its
  sync service (``KenhThucHien``, ``DonViXuLy``, ``HoSoCoThanhPhanSoHoa``,
  ``DuocThanhToanTrucTuyen``, ``TaiLieuNop[].DuocSoHoa``, ``DanhSachLePhi[].Gia``,
  ``DanhSachHoSoBoSung[]``, ``NgayYeuCauBoSung``; answer ``{"error_code", "message"}``; the
  unit's code as ``MaDinhDanhDV`` on the query string).
- [766] "Mô tả công thức tính chỉ số 766" (the national portal's description of the index of
  Quyết định 766/QĐ-TTg, 23/6/2022): rules 2.1 (on time), 3.6 (online payment), 4.3 (digitised).

Mapping (the README's table says the same):

=====================  ===========================  ==========================================
portal field           canonical field              rule
=====================  ===========================  ==========================================
MaHoSo                 dossier_id                   as is (the event id adds a digest of the
                                                    mapped data: an update is a new version)
MaTTHC                 procedure_id                 as is
DonViXuLy / MaCoQuan   unit_id                      the first that is a unit's code in the
/ madonvi / ?MaDinh…                                registry (``organ_ids``, like edXML);
                                                    none → 422 naming DonViXuLy
NgayTiepNhan           time                         yyyyMMddHHmmss at +07:00
KenhThucHien           channel                      1 (or absent) direct, 3 postal,
                                                    2 online_full when the procedure was
                                                    full-online and eligible at
                                                    NgayTiepNhan (procedures.py), else
                                                    online_partial
TrangThaiHoSo          (filter)                     1 (mới đăng ký) and 3 (không được tiếp
                                                    nhận) were never received: not emitted,
                                                    counted as ``ignored``; 2 and 4–10 emitted
NgayHenTra             due_at                       date as above
NgayKetThucXuLy …      finished_at, on_time         [766] 2.1, see :func:`processing_end`
HoSoCoThanhPhanSoHoa   digitised                    1, or any TaiLieuNop[].DuocSoHoa = 1 [766]
DuocThanhToanTrucTuyen paid_online                  1, 2 paid online; 3 not; none: null unless
                                                    a DanhSachLePhi[].Gia is non-zero [766] 3.6
=====================  ===========================  ==========================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.ingest.cloudevents import MalformedRequest, PendingEvent, Problem, loads
from services.ingest.dvcqg_766 import index_766, on_time, processing_end
from services.ingest.dvcqg_fields import LOCAL, Invalid, code, flag, moment, objects, text
from services.ingest.procedures import ProcedureMap
from thidua.contracts.events import Channel, EventType

# (the readers and the 766 rules live beside: dvcqg_fields.py, dvcqg_766.py)
__all__ = [
    "LOCAL", "Invalid", "code", "flag", "moment", "objects", "on_time", "processing_end", "text",
]  # fmt: skip

SERVICE = "DongBoHoSoMC"
# [OCPS] posts a dossier's progress (who processed it, when) to the same endpoint; the scores
# read nothing of it (the dossier's own sync, isUpdating, carries its dates and status).
PROGRESS = "CapNhatTienDoHoSoMC"
_TYPE = EventType.DOSSIER_RECEIVED
NEVER_RECEIVED = frozenset({1, 3})
_CHANNELS = {1: Channel.DIRECT, 3: Channel.POSTAL}
_EARLIEST = datetime(2000, 1, 1, tzinfo=LOCAL)


@dataclass(frozen=True, slots=True)
class Body:
    items: list[Any]
    unit_code: str  # the sender's unit code beside the data ([OCPS] madonvi), or ""
    progress: bool = False  # a CapNhatTienDoHoSoMC body: acknowledged, nothing emitted


@dataclass(frozen=True, slots=True)
class Dossier:
    """One valid portal dossier, before the registry lookups."""

    index: int
    dossier_id: str
    procedure_id: str
    status: int
    channel: int
    received_at: datetime | None
    unit_codes: tuple[str, ...]
    extra: dict[str, Any]  # the optional 766 fields (None values left out)

    @property
    def received(self) -> bool:
        return self.status not in NEVER_RECEIVED


def parse_body(body: bytes, service: str | None = SERVICE) -> Body:
    """``{"service", "isUpdating", "data": [...]}`` or a bare array of items. Raises 400s.
    ``service``: the service name the body must carry when it names one (None: any)."""
    document = loads(body)
    if isinstance(document, list):
        return Body(document, "")
    if not isinstance(document, dict):
        raise MalformedRequest("body must be a JSON object with 'data', or a JSON array")
    named = document.get("service", service)
    progress = service == SERVICE and named == PROGRESS
    if service is not None and named != service and not progress:
        raise MalformedRequest(f"service must be {service!r}, not {str(named)[:60]!r}")
    updating = document.get("isUpdating", "False")
    if updating not in ("True", "False", "true", "false", True, False):
        raise MalformedRequest("isUpdating must be 'True' or 'False'")
    items = document.get("data")
    if not isinstance(items, list):
        raise MalformedRequest("'data' must be a JSON array")
    unit = document.get("madonvi", document.get("MaDonVi", ""))
    return Body(items, unit.strip() if isinstance(unit, str) else "", progress)


# --- items → dossiers → events --------------------------------------------------------------


def read_dossier(index: int, item: Any, body_unit: str, query_unit: str) -> Dossier:
    if not isinstance(item, dict):
        raise Invalid("a dossier must be a JSON object")
    dossier_id = text(item, "MaHoSo")
    status = code(item, "TrangThaiHoSo", range(1, 11))
    assert status is not None
    procedure_id = text(item, "MaTTHC")
    # Absent in older OpenCPS releases ([OCPS] sends no KenhThucHien; its default channel is
    # NHAN_KENH_DEFAULT "Trực tiếp"): direct, never counted as full-online.
    channel = code(item, "KenhThucHien", range(1, 4), required=False) or 1
    received_at = moment(item, "NgayTiepNhan", required=status not in NEVER_RECEIVED)
    units = [text(item, "DonViXuLy", required=False), text(item, "MaCoQuan", required=False)]
    units += [body_unit, query_unit]
    unit_codes = tuple(dict.fromkeys(u for u in units if u))
    if not unit_codes and status not in NEVER_RECEIVED:
        raise Invalid("DonViXuLy (the unit's code) is required")
    extra = index_766(item, status)
    return Dossier(index, dossier_id, procedure_id, status, channel, received_at, unit_codes, extra)


def read_dossiers(
    items: Sequence[Any], body_unit: str = "", query_unit: str = ""
) -> tuple[list[Dossier], list[Problem]]:
    """Every item checked; of dossiers sharing a MaHoSo the later one wins (SPEC §3)."""
    latest: dict[str, Dossier] = {}
    problems = []
    for index, item in enumerate(items):
        try:
            dossier = read_dossier(index, item, body_unit, query_unit)
        except Invalid as exc:
            problems.append(Problem(index, str(exc), _TYPE.value))
            continue
        latest.pop(dossier.dossier_id, None)  # keep array order of the winners
        latest[dossier.dossier_id] = dossier
    return list(latest.values()), problems


def unit_of(dossier: Dossier, organ_units: Mapping[str, str]) -> str | None:
    for candidate in dossier.unit_codes:
        unit = organ_units.get(candidate)
        if unit is not None:
            return unit
    return None


def unknown_unit(dossier: Dossier) -> str:
    return f"unknown unit code {dossier.unit_codes[0][:100]!r} (DonViXuLy)"


def unit_problems(dossiers: Sequence[Dossier], organ_units: Mapping[str, str]) -> list[Problem]:
    """The received dossiers whose unit is not in the registry."""
    return [
        Problem(d.index, unknown_unit(d), _TYPE.value)
        for d in dossiers
        if d.received and unit_of(d, organ_units) is None
    ]


def to_events(
    dossiers: Sequence[Dossier],
    organ_units: Mapping[str, str],
    procedures: ProcedureMap,
    source: str,
    now: datetime | None = None,
) -> tuple[list[PendingEvent], list[Problem]]:
    """The received dossiers as canonical events (never-received ones are left out)."""
    latest_allowed = (now or datetime.now(UTC)) + timedelta(hours=24)
    events = []
    problems = []
    for dossier in dossiers:
        if not dossier.received:
            continue
        received_at = dossier.received_at
        assert received_at is not None
        unit = unit_of(dossier, organ_units)
        reason = None
        if unit is None:
            reason = unknown_unit(dossier)
        elif received_at < _EARLIEST or received_at > latest_allowed:
            reason = "NgayTiepNhan must be after 2000-01-01 and at most 24 h from now"
        if reason is not None or unit is None:
            problems.append(Problem(dossier.index, reason or "", _TYPE.value))
            continue
        channel = _CHANNELS.get(dossier.channel)
        if channel is None:
            full = procedures.full_online_at(dossier.procedure_id, received_at)
            channel = Channel.ONLINE_FULL if full else Channel.ONLINE_PARTIAL
        # Valid by construction (ids checked by ``text``, the unit from the registry, the
        # rest typed here): the JSON form validate_data would give, without its cost.
        data = {
            "dossier_id": dossier.dossier_id,
            "unit_id": unit,
            "procedure_id": dossier.procedure_id,
            "channel": channel.value,
            **dossier.extra,
        }
        events.append(
            PendingEvent(source, version_id(dossier.dossier_id, data), _TYPE, received_at, data)
        )
    return events, problems


def version_id(key: str, data: Mapping[str, Any]) -> str:
    """The same mapped dossier resent is the same event (no effect, SPEC §4); any change is a
    new version of the dossier (the portal's ``isUpdating``), decided by SPEC §3's order."""
    digest = hashlib.blake2b(orjson.dumps(data, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return f"{key}#{digest.hexdigest()}"
