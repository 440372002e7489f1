""" "Chỉ số 766 (tham khảo)": three rates of the national public-service index (Quyết định
766/QĐ-TTg) shown beside a unit's scorecard, never scored (the plan's criteria do not name them).

Each rate counts the dossiers received in the period (event time in the period, like C03) that
say something about it — a dossier whose source did not tell is in neither side:

- ``on_time``: processed on time / processed (``on_time`` true / known), rule 2.1 — the
  DVCQG adapter decides it from NgayKetThucXuLy ≤ NgayHenTra with supplement pauses off.
- ``digitised``: with a digitised component / stated (rule 4.3, HoSoCoThanhPhanSoHoa).
- ``paid_online``: paid online / a fee was due (rule 3.6, DuocThanhToanTrucTuyen).

The measures are flows, counted per day by scoring and by the batch recompute alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LABEL = "Chỉ số 766 (tham khảo)"
# rate → (numerator measure, denominator measure, Vietnamese label)
RATES: dict[str, tuple[str, str, str]] = {
    "on_time": ("dossier_766_on_time", "dossier_766_finished", "Hồ sơ xử lý đúng hạn"),
    "digitised": ("dossier_766_digitised", "dossier_766_digitised_known", "Hồ sơ được số hóa"),
    "paid_online": (
        "dossier_766_paid_online",
        "dossier_766_fee_due",
        "Hồ sơ thanh toán trực tuyến",
    ),
}
MEASURES: frozenset[str] = frozenset(m for num, den, _ in RATES.values() for m in (num, den))


def dossier_measures(on_time: Any, digitised: Any, paid_online: Any) -> dict[str, bool]:
    """Which 766 measures one received dossier's winning version adds 1 to."""
    return {
        "dossier_766_finished": on_time is not None,
        "dossier_766_on_time": on_time is True,
        "dossier_766_digitised_known": digitised is not None,
        "dossier_766_digitised": digitised is True,
        "dossier_766_fee_due": paid_online is not None,
        "dossier_766_paid_online": paid_online is True,
    }


def index_766(sums: Mapping[str, float]) -> dict[str, Any]:
    """The scorecard's ``index_766`` block from a unit's measure sums of one period."""
    block: dict[str, Any] = {"label": LABEL, "scored": False}
    for rate, (numerator, denominator, label) in RATES.items():
        num, den = float(sums.get(numerator, 0.0)), float(sums.get(denominator, 0.0))
        block[rate] = {
            "label": label,
            "numerator": num,
            "denominator": den,
            "value": num / den if den > 0 else None,
        }
    return block
