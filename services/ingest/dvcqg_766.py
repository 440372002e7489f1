"""The national 766 index's rules over one portal dossier ([766] "Mô tả công thức tính chỉ số
766", the portal's description of the index of Quyết định 766/QĐ-TTg): rule 2.1 (on time,
with the supplement pause), 3.6 (online payment), 4.3 (digitised). Shown on the scorecard as
"Chỉ số 766 (tham khảo)", never scored (thidua/contracts/index766.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from services.ingest.dvcqg_fields import Invalid, code, flag, moment, objects


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
