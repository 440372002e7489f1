"""One period's computed scorecards, held in memory, with the payloads derived from them.

Payloads are plain dicts shaped like ``schemas`` (tests check them against the models) and the
hot ones are kept encoded: a ranking read is a dict lookup and a socket write.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.periods import LOCAL_TZ, Period
from thidua.contracts.plans import final
from thidua.contracts.scorecard import CriterionResult, Scorecard, rank_by_tier


def now_local() -> datetime:
    return datetime.now(LOCAL_TZ)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


@dataclass
class PeriodView:
    period: Period
    plan: CriteriaConfig  # in force on the period's last day
    cards: list[Scorecard]  # ranked within tier
    computed_at: datetime
    by_unit: dict[str, Scorecard] = field(default_factory=dict)
    _ranked: dict[str | None, dict[Tier, list[Scorecard]]] = field(default_factory=dict)
    _encoded: dict[tuple[str, ...], tuple[bytes, bytes]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, period: Period, plan: CriteriaConfig, cards: list[Scorecard], computed_at: datetime
    ) -> PeriodView:
        # Ranks are recomputed here rather than trusted from the loader: one rule, SPEC §3.
        by_tier = rank_by_tier(cards)
        ranked = [card for group in by_tier.values() for card in group]
        view = cls(period, plan, ranked, computed_at, {c.unit.unit_id: c for c in ranked})
        view._ranked[None] = by_tier
        return view

    @property
    def generated_at(self) -> str:
        return rfc3339(self.computed_at)

    @property
    def plan_fields(self) -> dict[str, Any]:
        """SPEC §7.1 on every answer: the plan that scored it, and whether it may still move
        (computed before the period's end: tạm tính)."""
        return {
            "plan_id": self.plan.plan_id,
            "plan_provisional": self.plan.provisional,
            "plan_note": self.plan.note,
            "final": final(self.period, self.computed_at),
        }

    def ranked(self, tier: Tier, block: str | None = None) -> list[Scorecard]:
        block = block or None
        if block not in self._ranked:
            self._ranked[block] = rank_by_tier(self.cards, block)
        return self._ranked[block].get(tier, [])

    def blocks(self, tier: Tier) -> list[str]:
        return sorted({c.unit.block for c in self.cards if c.unit.tier == tier and c.unit.block})

    def rankings(self, tier: Tier, block: str | None) -> dict[str, Any]:
        block = block or None
        items = [
            {
                "rank": card.rank,
                "unit_id": card.unit.unit_id,
                "name": card.unit.name,
                "block": card.unit.block,
                "score": card.score,
                "criteria_met": card.criteria_met,
                "criteria_total": card.criteria_total,
                "no_data": list(card.no_data),
                **self.closing(card),
            }
            for card in self.ranked(tier, block)
            if card.rank is not None
        ]
        return {
            "tier": tier.value,
            "period": self.period.id,
            "block": block,
            "generated_at": self.generated_at,
            **self.plan_fields,
            "items": items,
        }

    def closing(self, card: Scorecard) -> dict[str, Any]:
        """SPEC §7.2: when the unit closed, and whom its data counts for since (by name too,
        as the period shows it: the successor may be of another tier)."""
        closed_at = card.unit.closed_at
        successor = card.unit.successor_id if closed_at or not card.unit.active else None
        known = self.by_unit.get(successor) if successor else None
        return {
            "closed_at": rfc3339(closed_at) if closed_at else None,
            "successor_id": successor,
            "successor_name": known.unit.name if known else None,
        }

    def rankings_bytes(self, tier: Tier, block: str | None) -> bytes:
        return self.rankings_encoded(tier, block)[0]

    def rankings_encoded(self, tier: Tier, block: str | None) -> tuple[bytes, bytes]:
        """(JSON body, its ETag): pollers revalidate with If-None-Match and get 304."""
        key = ("rankings", tier.value, block or "")
        cached = self._encoded.get(key)
        if cached is None:
            body = orjson.dumps(self.rankings(tier, block))
            etag = b'"' + hashlib.blake2b(body, digest_size=8).hexdigest().encode() + b'"'
            cached = self._encoded[key] = (body, etag)
        return cached

    def scorecard(self, unit_id: str) -> dict[str, Any] | None:
        card = self.by_unit.get(unit_id)
        if card is None:
            return None
        config = self.plan
        return {
            "unit_id": card.unit.unit_id,
            "name": card.unit.name,
            "tier": card.unit.tier.value,
            "block": card.unit.block,
            "active": card.unit.active,
            **self.closing(card),
            "period": self.period.id,
            "generated_at": self.generated_at,
            **self.plan_fields,
            "score": card.score,
            "rank": card.rank,
            "criteria_met": card.criteria_met,
            "criteria_total": card.criteria_total,
            "no_data": list(card.no_data),
            "award_eligible": card.award_eligible,
            "awardable_period": self.period.awardable,
            "criteria": [_criterion(config, r) for r in card.criteria],
            "missing_for_award": [_missing(config, r) for r in card.criteria if not r.met],
            "index_766": card._extra.get("index_766"),
        }

    def awards(self, tier: Tier | None) -> list[dict[str, Any]]:
        cards = [
            c for c in self.cards if c.award_eligible and (tier is None or c.unit.tier == tier)
        ]
        cards.sort(key=lambda c: (list(Tier).index(c.unit.tier), c.rank or 0, c.unit.unit_id))
        return [
            {
                "unit_id": c.unit.unit_id,
                "name": c.unit.name,
                "tier": c.unit.tier.value,
                "block": c.unit.block,
                "rank": c.rank,
                "score": c.score,
                "criteria_met": c.criteria_met,
                "criteria_total": c.criteria_total,
            }
            for c in cards
        ]


def _criterion(config: CriteriaConfig, result: CriterionResult) -> dict[str, Any]:
    criterion = config.by_id(result.id)
    return {
        "id": result.id,
        "label": criterion.label,
        "kind": criterion.kind,
        "boolean": criterion.boolean,
        "value": result.value,
        "numerator": result.numerator,
        "denominator": result.denominator,
        "target": result.target,
        "met": result.met,
        "attainment": result.attainment,
        "weight": result.weight,
    }


def _missing(config: CriteriaConfig, result: CriterionResult) -> dict[str, Any]:
    """What a unit still lacks on one criterion: with the same denominator, how many more
    items must count in the numerator to reach the target."""
    needed = None
    if result.denominator > 0:
        needed = max(0.0, math.ceil(result.target * result.denominator - result.numerator - 1e-9))
    return {
        "id": result.id,
        "label": config.by_id(result.id).label,
        "reason": "no_data" if result.value is None else "below_target",
        "value": result.value,
        "target": result.target,
        "numerator_needed": needed,
    }
