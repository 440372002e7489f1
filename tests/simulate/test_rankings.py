"""The simulated 2025 annual review is worth looking at: every ranked tier has award-eligible
units and a spread of scores (scored with the scoring processors and SPEC §3 scorecards)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from thidua.contracts.events import CanonicalEvent, Tier
from thidua.contracts.measures import FLOW_MEASURES
from thidua.contracts.plans import default_plans
from thidua.contracts.scorecard import UnitInfo, build_scorecard, rank_by_tier
from tools.simulate.generator import generate
from tools.simulate.registry import default_registry

processors = pytest.importorskip("services.scoring.processors")


def test_annual_review_2025_has_winners_and_a_spread() -> None:
    config = default_plans().plans[0]
    events = [
        CanonicalEvent.model_validate({**e, "seq": n})
        for n, e in enumerate(
            generate(seed=154, start=date(2025, 1, 1), end=date(2026, 1, 1), scale=0.1)
        )
    ]
    counters = processors.fold(events, indicator_ids=config.indicator_ids())
    flows = FLOW_MEASURES
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (unit, measure, day), value in counters.items():
        if day < "2026-01-01" and (measure not in flows or day >= "2025-01-01"):
            sums[unit][measure] += float(value)
    cards = [
        build_scorecard(
            config,
            UnitInfo(u.unit_id, u.name, u.tier, u.active_on(date(2025, 12, 31)), u.block),
            "2025",
            sums[u.unit_id],
            True,
        )
        for u in default_registry()
    ]
    ranked = rank_by_tier(cards)
    assert all(c.rank is None for c in ranked[Tier.DISTRICT])  # merged on 2025-07-01
    for tier in (Tier.PROVINCE_AGENCY, Tier.COMMUNE):
        group = [c for c in ranked[tier] if c.rank is not None]
        scores = [c.score for c in group]
        assert any(c.award_eligible for c in group), tier
        assert not all(c.award_eligible for c in group), tier
        assert max(scores) - min(scores) > 20, tier
        assert not any(c.no_data for c in group), tier
