"""Scores, ranks and award eligibility of SPEC §3 — pure functions over measure sums.

Input: for one unit and period, the sum of each measure (flows over the period's days, stocks
over every day before its end). Output: the scorecard served by the API and stored in
ClickHouse. Streaming results and the batch recompute both go through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier

SCORE_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    numerator: float
    denominator: float
    value: float | None
    target: float
    met: bool
    attainment: float
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """A unit as registered at the period's end, or on its last active day when it closed
    inside the period (SPEC §2, §7.2: then ``closed_at`` is the closing time)."""

    unit_id: str
    name: str
    tier: Tier
    active: bool
    block: str | None = None
    parent_id: str | None = None
    successor_id: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Scorecard:
    unit: UnitInfo
    period: str
    criteria: tuple[CriterionResult, ...]
    score: float
    criteria_met: int
    no_data: tuple[str, ...]
    rank: int | None = None  # None: not ranked (inactive at the period's end)
    award_eligible: bool = False
    _extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def criteria_total(self) -> int:
        return len(self.criteria)

    @property
    def rank_key(self) -> tuple[float, int]:
        return (round(self.score, SCORE_DECIMALS), self.criteria_met)


def evaluate_criterion(
    criterion_id: str,
    numerator: float,
    denominator: float,
    target: float,
    boolean: bool,
    weight: float,
) -> CriterionResult:
    value = numerator / denominator if denominator > 0 else None
    if value is None:
        attainment = 0.0
    elif boolean:
        attainment = 1.0 if value >= target else 0.0
    else:
        attainment = min(value / target, 1.0)
    met = value is not None and value >= target
    return CriterionResult(
        criterion_id, numerator, denominator, value, target, met, attainment, weight
    )


def build_scorecard(
    config: CriteriaConfig,
    unit: UnitInfo,
    period: str,
    measures: Mapping[str, float],
    awardable: bool,
) -> Scorecard:
    """Score one unit from its measure sums (missing measures count 0)."""
    results = []
    for criterion in config.for_tier(unit.tier):
        num_m, den_m = criterion.measures(unit.tier)
        results.append(
            evaluate_criterion(
                criterion.id,
                float(measures.get(num_m, 0.0)),
                float(measures.get(den_m, 0.0)),
                criterion.targets[unit.tier],
                criterion.boolean,
                criterion.weight,
            )
        )
    total_weight = sum(r.weight for r in results)
    score = 100.0 * sum(r.weight * r.attainment for r in results) / total_weight if results else 0.0
    no_data = tuple(r.id for r in results if r.value is None)
    met = sum(1 for r in results if r.met)
    eligible = (
        awardable
        and unit.active
        and unit.closed_at is None  # a unit that closed inside the period never is (§7.2)
        and not no_data
        and met == len(results)
        and bool(results)
    )
    return Scorecard(unit, period, tuple(results), score, met, no_data, award_eligible=eligible)


def rank_scorecards(cards: Sequence[Scorecard]) -> list[Scorecard]:
    """Competition ranking (1,2,2,4) of the active units among ``cards``; inactive ones keep
    rank None and follow, ordered by unit_id. Ties share (score to 6 decimals, criteria_met)."""
    active = sorted(
        (c for c in cards if c.unit.active),
        key=lambda c: (-c.rank_key[0], -c.rank_key[1], c.unit.unit_id),
    )
    ranked: list[Scorecard] = []
    for position, card in enumerate(active, start=1):
        if ranked and ranked[-1].rank_key == card.rank_key:
            rank = ranked[-1].rank
        else:
            rank = position
        ranked.append(replace(card, rank=rank))
    inactive = sorted((c for c in cards if not c.unit.active), key=lambda c: c.unit.unit_id)
    return ranked + [replace(c, rank=None) for c in inactive]


def rank_by_tier(
    cards: Sequence[Scorecard], block: str | None = None
) -> dict[Tier, list[Scorecard]]:
    """Ranks within each tier (and within ``block`` when asked)."""
    by_tier: dict[Tier, list[Scorecard]] = {}
    for card in cards:
        if block is not None and card.unit.block != block:
            continue
        by_tier.setdefault(card.unit.tier, []).append(card)
    return {tier: rank_scorecards(group) for tier, group in by_tier.items()}
