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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from services.ingest.cloudevents import MalformedRequest, PendingEvent, Problem, loads
from services.ingest.procedures import ProcedureMap
from thidua.contracts.events import Channel, EventType

SERVICE = "DongBoHoSoMC"
LOCAL = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
_TYPE = EventType.DOSSIER_RECEIVED
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")
# C#'s DateTime serialises as ISO 8601 without an offset ([CS] HoSoBoSung.NgayBoSung).
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?([+-]\d{2}:\d{2}|Z)?$"
)
NEVER_RECEIVED = frozenset({1, 3})
_CHANNELS = {1: Channel.DIRECT, 3: Channel.POSTAL}
_EARLIEST = datetime(2000, 1, 1, tzinfo=LOCAL)
_MAX_ID = 200


class Invalid(ValueError):
    """One field of one dossier breaks the format (reported with the dossier's index)."""


@dataclass(frozen=True, slots=True)
class Body:
    items: list[Any]
    unit_code: str  # the sender's unit code beside the data ([OCPS] madonvi), or ""


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
    if service is not None and named != service:
        raise MalformedRequest(f"service must be {service!r}, not {str(named)[:60]!r}")
    updating = document.get("isUpdating", "False")
    if updating not in ("True", "False", "true", "false", True, False):
        raise MalformedRequest("isUpdating must be 'True' or 'False'")
    items = document.get("data")
    if not isinstance(items, list):
        raise MalformedRequest("'data' must be a JSON array")
    unit = document.get("madonvi", document.get("MaDonVi", ""))
    return Body(items, unit.strip() if isinstance(unit, str) else "")


# --- field readers: each raises Invalid with the field's name -----------------------------


def text(item: Mapping[str, Any], name: str, required: bool = True) -> str:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise Invalid(f"{name} is required")
    if len(value) > _MAX_ID:
        raise Invalid(f"{name} is longer than {_MAX_ID} characters")
    return value


def code(item: Mapping[str, Any], name: str, allowed: range, required: bool = True) -> int | None:
    """A numeric code, sent as a string ("2") or a number (2)."""
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return None
    number: int | None = None
    digits = value.strip() if isinstance(value, str) else ""
    if 0 < len(digits) <= 9 and digits.isascii() and digits.isdigit():
        number = int(digits)  # (ASCII: "²".isdigit() is true, yet int() refuses it)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    if number is None:
        raise Invalid(f"{name} must be a number code, not {str(value)[:20]!r}")
    if number not in allowed:
        raise Invalid(f"unknown {name} {number} (expected {allowed.start}–{allowed.stop - 1})")
    return number


def flag(item: Mapping[str, Any], name: str) -> bool:
    return code(item, name, range(0, 2), required=False) == 1


def moment(item: Mapping[str, Any], name: str, required: bool = False) -> datetime | None:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh ([OCPS] convertDate2String); ISO 8601 also read."""
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string yyyyMMddHHmmss")
    if len(value) == 14 and value.isascii() and value.isdigit():  # the usual form, no regex
        try:
            return datetime(
                int(value[:4]), int(value[4:6]), int(value[6:8]),
                int(value[8:10]), int(value[10:12]), int(value[12:]), tzinfo=LOCAL,
            )  # fmt: skip
        except ValueError:
            raise Invalid(f"{name} {value!r} is not a date") from None
    match = _COMPACT.match(value) or _ISO.match(value)
    if match is None:
        raise Invalid(f"{name} {value[:30]!r} is not a date yyyyMMddHHmmss")
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        zone = match.groups()[6] if match.re is _ISO else None
        local = datetime(year, month, day, hour, minute, second, tzinfo=LOCAL)
    except ValueError:
        raise Invalid(f"{name} {value[:30]!r} is not a date") from None
    if zone:
        offset = timedelta() if zone == "Z" else _offset(zone)
        local = local.replace(tzinfo=timezone(offset)).astimezone(LOCAL)
    return local


def _offset(zone: str) -> timedelta:
    sign = -1 if zone[0] == "-" else 1
    return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))


def objects(item: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Invalid(f"{name} must be an array of objects")
    return value


# --- the 766 index's rules ----------------------------------------------------------------


def processing_end(
    status: int,
    finished: datetime | None,
    returned: datetime | None,
    supplements: Sequence[tuple[datetime, datetime | None]],
) -> tuple[datetime | None, bool]:
    """[766] 2.1: the end of processing, with supplement pauses off, and whether the rule
    makes the dossier late whatever its dates. ``supplements``: (requested, resumed or None).

    - End = NgayKetThucXuLy (the end of Đã xử lý xong / trả kết quả / dừng / từ chối / rút);
      else NgayTra when the result was returned (status 10).
    - A supplement request stops the clock: "Thời gian kết thúc xử lý = Thời gian kết thúc xử
      lý − Thời gian bổ sung hồ sơ", pause = resumed − requested, for each request answered.
    - Not finished and waiting for the citizen's supplement: the end is the request's time,
      "trừ trường hợp Yêu cầu bổ sung hồ sơ hơn 01 lần thì tính quá hạn" (more than one → late).
    - Otherwise still processing: None. (766 then measures against the period's last day; a
      later version of the dossier brings its end, so it is left out of the rate until then.)
    """
    end = finished or (returned if status == 10 else None)
    if end is not None:
        pauses = (max(back - asked, timedelta()) for asked, back in supplements if back)
        paused = sum(pauses, timedelta())
        return end - paused, False
    if supplements and supplements[-1][1] is None:
        return supplements[-1][0], len(supplements) > 1
    return None, False


def on_time(due: datetime | None, end: datetime | None, late: bool) -> bool | None:
    """[766] 2.1: "Đúng hạn: Ngày kết thúc xử lý hồ sơ <= ngày hẹn trả"."""
    if late and end is not None:
        return False
    if due is None or end is None:
        return None  # no NgayHenTra: 766 falls back to the procedure's time limit, not known here
    return end <= due


def _supplements(item: Mapping[str, Any]) -> list[tuple[datetime, datetime | None]]:
    found = []
    for index, entry in enumerate(objects(item, "DanhSachHoSoBoSung")):
        requested = moment(entry, "NgayBoSung")
        if requested is None:
            raise Invalid(f"DanhSachHoSoBoSung[{index}].NgayBoSung is required")
        found.append((requested, moment(entry, "NgayTiepNhanBoSung")))
    if not found:
        requested = moment(item, "NgayYeuCauBoSung")
        if requested is not None:
            found.append((requested, None))
    return sorted(found, key=lambda s: s[0])


def _fee_due(item: Mapping[str, Any]) -> bool:
    for index, fee in enumerate(objects(item, "DanhSachLePhi")):
        price = fee.get("Gia")
        if price is None or price == "":
            continue
        if isinstance(price, bool) or not isinstance(price, str | int | float):
            raise Invalid(f"DanhSachLePhi[{index}].Gia must be a number")
        try:
            amount = Decimal(str(price).replace(",", ""))
            if not amount.is_finite():
                raise InvalidOperation
            if amount != 0:
                return True
        except InvalidOperation:
            raise Invalid(f"DanhSachLePhi[{index}].Gia {str(price)[:20]!r} is no number") from None
    return False


def index_766(item: Mapping[str, Any], status: int) -> dict[str, Any]:
    due = moment(item, "NgayHenTra")
    end, late = processing_end(
        status, moment(item, "NgayKetThucXuLy"), moment(item, "NgayTra"), _supplements(item)
    )
    # Every field is read (and so checked) even when an earlier one already decides.
    parts = [flag(part, "DuocSoHoa") for part in objects(item, "TaiLieuNop")]
    digitised = flag(item, "HoSoCoThanhPhanSoHoa") or any(parts)
    payment = code(item, "DuocThanhToanTrucTuyen", range(0, 4), required=False)
    fee_due = _fee_due(item)
    paid: bool | None = None
    if payment in (1, 2):
        paid = True
    elif payment == 3 or fee_due:
        paid = False
    extra = {
        "due_at": due.isoformat() if due else None,
        "finished_at": end.isoformat() if end else None,
        "on_time": on_time(due, end, late),
        "digitised": digitised,
        "paid_online": paid,
    }
    return {k: v for k, v in extra.items() if v is not None}


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
            reason = f"unknown unit code {dossier.unit_codes[0][:100]!r} (DonViXuLy)"
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
