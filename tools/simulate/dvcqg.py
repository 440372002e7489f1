"""The simulated DVC history in the national portal's format (``--dvc-format dvcqg``).

``procedure.upserted`` and ``dossier.received`` CloudEvents become the items a one-stop-shop
system sends to Cổng DVC quốc gia: procedures (``MaTTHC``, ``MucDo``…) for
``POST /v1/dvcqg/procedures`` and ``DongBoHoSoMC`` dossiers for ``POST /v1/dvcqg/dossiers``
(see services/ingest/dvcqg.py). Every other event stays a CloudEvent. A unit's code is the
first of its ``organ_ids``, learnt from the ``unit.upserted`` events that pass by; a dossier
or procedure of a unit without one stays a CloudEvent.

The portal says "online" (``KenhThucHien`` 2), not "full-online": ingest decides that from
the procedure catalogue at the dossier's time, so C03 follows the simulated procedures here,
not the channel the CloudEvent stated. The 766 fields (due date, end of processing,
digitised, paid online) are drawn per dossier from a generator seeded by its id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from thidua.contracts.events import EventType
from thidua.contracts.periods import LOCAL_TZ
from tools.simulate.model import rng_for

PROCEDURES_PATH = "/v1/dvcqg/procedures"
DOSSIERS_PATH = "/v1/dvcqg/dossiers"
_KENH = {"online_full": "2", "online_partial": "2", "direct": "1", "postal": "3"}


def portal_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S")


class PortalConverter:
    """CloudEvent dicts → (path, portal item), remembering each unit's code as it goes."""

    def __init__(self) -> None:
        self.code_of: dict[str, str] = {}

    def convert(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        kind, data = event.get("type"), event.get("data") or {}
        if kind == EventType.UNIT_UPSERTED.value:
            organs = data.get("organ_ids") or []
            if organs:
                self.code_of[str(data["unit_id"])] = str(organs[0])
            return None
        code = self.code_of.get(str(data.get("unit_id")))
        if code is None:
            return None
        moment = datetime.fromisoformat(str(event["time"]))
        if kind == EventType.PROCEDURE_UPSERTED.value:
            return PROCEDURES_PATH, {
                "MaTTHC": data["procedure_id"],
                "MucDo": "4" if data["full_online"] else "3",
                "MaCoQuan": code,
                "DuDieuKienToanTrinh": "1" if data["full_online_eligible"] else "0",
                "CoTrenDiDong": "1" if data["mobile"] else "0",
                "NgayCapNhat": portal_time(moment),
            }
        if kind == EventType.DOSSIER_RECEIVED.value:
            return DOSSIERS_PATH, dossier_item(data, code, moment)
        return None


def dossier_item(data: dict[str, Any], code: str, received: datetime) -> dict[str, Any]:
    rng = rng_for("dvcqg", data["dossier_id"])
    due = received + timedelta(days=rng.randint(3, 15))
    finished = due + timedelta(hours=rng.randint(-200, 48))
    fee = rng.random() < 0.5
    return {
        "MaHoSo": data["dossier_id"],
        "MaTTHC": data["procedure_id"],
        "KenhThucHien": _KENH[data["channel"]],
        "TrangThaiHoSo": "10",
        "NgayTiepNhan": portal_time(received),
        "NgayHenTra": portal_time(due),
        "NgayKetThucXuLy": portal_time(max(finished, received)),
        "DonViXuLy": code,
        "HoSoCoThanhPhanSoHoa": "1" if rng.random() < 0.6 else "0",
        "DuocThanhToanTrucTuyen": ("1" if rng.random() < 0.5 else "3") if fee else "0",
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "50000"}] if fee else [],
    }
