"""Scorecards and rules for notify's tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.notify.engine import Engine
from services.notify.rules import parse_rules
from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.plans import default_plans

T0 = datetime(2025, 11, 3, 10, 0, tzinfo=LOCAL_TZ)


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def card(
    unit: str = "tq-xa-02269",
    period: str = "rolling-30d",
    when: datetime = T0,
    rank: int | None = 1,
    tier: str = "commune",
    **criteria: tuple[float, float, float],
) -> dict[str, Any]:
    """criteria: id=(numerator, denominator, target)."""
    items = [
        {
            "id": cid,
            "numerator": num,
            "denominator": den,
            "value": num / den if den else None,
            "target": target,
            "met": bool(den) and num / den >= target,
        }
        for cid, (num, den, target) in criteria.items()
    ]
    return {
        "period": period,
        "unit_id": unit,
        "tier": tier,
        "score": 50.0,
        "rank": rank,
        "criteria": items,
        "computed_at": when.isoformat(),
    }


def engine(*rules: dict[str, Any]) -> Engine:
    return Engine.build(parse_rules({"rules": list(rules)}), default_plans())
