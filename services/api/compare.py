"""Views across periods for the dashboard: the previous period of the same kind (for rank
changes), the units × criteria matrix of a tier, and one criterion's trend by quarter."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import orjson

from services.api.service import KpiService
from services.api.views import PeriodView, now_local, rfc3339
from thidua.contracts.events import Tier
from thidua.contracts.periods import Period, PeriodError, parse_period


def previous_period(period: Period) -> str | None:
    """The period of the same kind just before ``period`` (2025 → 2024, 2025-Q1 → 2024-Q4);
    none for rolling-30d and phases, whose predecessors are not comparable."""
    if period.kind == "year":
        candidate = str(period.start_day.year - 1)
    elif period.kind == "quarter":
        year, quarter = period.start_day.year, (period.start_day.month - 1) // 3 + 1
        candidate = f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    else:
        return None
    try:
        return parse_period(candidate).id
    except PeriodError:
        return None


_ENCODED: OrderedDict[tuple[Any, ...], tuple[bytes, str]] = OrderedDict()
ENCODED_ENTRIES = 64


def matrix_encoded(
    view: PeriodView, previous: PeriodView | None, tier: Tier, block: str | None
) -> tuple[bytes, str]:
    """:func:`matrix` as JSON bytes and its ETag, kept while the views are current (a
    commune matrix, every commune × every criterion, is large: encoded once per recompute, not
    once per read)."""
    key = (
        view.period.id,
        id(view),
        view.computed_at,
        tier,
        block,
        id(previous),
        previous.computed_at if previous else None,
    )
    cached = _ENCODED.get(key)
    if cached is None:
        body = orjson.dumps(matrix(view, previous, tier, block))
        cached = (body, '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"')
        _ENCODED[key] = cached
        while len(_ENCODED) > ENCODED_ENTRIES:
            _ENCODED.popitem(last=False)
    else:
        _ENCODED.move_to_end(key)
    return cached


def matrix(
    view: PeriodView,
    previous: PeriodView | None,
    tier: Tier,
    block: str | None,
) -> dict[str, Any]:
    """Every ranked unit of ``tier`` (in ``block``) with each criterion's figures and its rank
    change against ``previous`` (positive: up)."""
    config = view.plan
    before = {c.unit.unit_id: c.rank for c in previous.ranked(tier, block)} if previous else {}
    items = []
    for card in view.ranked(tier, block):
        if card.rank is None:
            continue
        previous_rank = before.get(card.unit.unit_id)
        items.append(
            {
                "rank": card.rank,
                "previous_rank": previous_rank,
                "rank_change": previous_rank - card.rank if previous_rank else None,
                "unit_id": card.unit.unit_id,
                "name": card.unit.name,
                "block": card.unit.block,
                "score": card.score,
                "criteria_met": card.criteria_met,
                "criteria_total": card.criteria_total,
                **view.closing(card),
                "cells": [
                    {  # in the order of "criteria", which holds ids and targets
                        "value": r.value,
                        "numerator": r.numerator,
                        "denominator": r.denominator,
                        "met": r.met,
                        "attainment": r.attainment,
                    }
                    for r in card.criteria
                ],
            }
        )
    return {
        "tier": tier.value,
        "period": view.period.id,
        "block": block,
        "generated_at": view.generated_at,
        "previous_period": previous.period.id if previous else None,
        "criteria": [
            {"id": c.id, "label": c.label, "boolean": c.boolean, "target": c.targets[tier]}
            for c in config.for_tier(tier)
        ],
        "items": items,
    }


async def criterion_trend(
    service: KpiService, unit_id: str, criterion_id: str
) -> dict[str, Any] | None:
    """One criterion of one unit in every quarter since the phase began."""
    points: list[dict[str, Any]] = []
    name = None
    criterion = None
    for period_id in service.quarter_ids():
        view = await service.view(service.parse(period_id))
        card = view.by_unit.get(unit_id)
        result = next((r for r in card.criteria if r.id == criterion_id), None) if card else None
        if card is not None:
            name = card.unit.name
        if result is not None:
            criterion = view.plan.by_id(criterion_id)
        points.append(
            {
                "period": period_id,
                "value": result.value if result else None,
                "numerator": result.numerator if result else None,
                "denominator": result.denominator if result else None,
                "target": result.target if result else None,
                "met": result.met if result else None,
            }
        )
    if name is None:
        return None
    if criterion is None:  # never applicable to the unit: the plan in force today says what it is
        plan = service.plans.current(now_local()) or service.plans.plans[-1]
        criterion = plan.by_id(criterion_id)
    return {
        "unit_id": unit_id,
        "name": name,
        "criterion": {
            "id": criterion.id,
            "label": criterion.label,
            "kind": criterion.kind,
            "boolean": criterion.boolean,
        },
        "generated_at": rfc3339(now_local()),
        "points": points,
    }
