"""What notify knows: the latest scorecard of every (period, unit) from ``kpi-results``, plus
the little history the rules need (stock values at period ends, rank history, activity).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from thidua.contracts.periods import ROLLING_30D, PeriodError, parse_period
from thidua.contracts.plans import Plans


@dataclass(frozen=True, slots=True)
class CriterionValue:
    id: str
    value: float | None
    numerator: float
    denominator: float
    target: float
    met: bool


@dataclass(frozen=True, slots=True)
class Scorecard:
    """One ``kpi-results`` message (key ``"{period}|{unit_id}"``)."""

    period: str
    unit_id: str
    tier: str
    score: float
    rank: int | None
    criteria: tuple[CriterionValue, ...]
    computed_at: datetime
    last_event_at: datetime | None = None
    closed_at: datetime | None = None  # closed inside the period (SPEC §7.2)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Scorecard:
        criteria = tuple(
            CriterionValue(
                id=str(c["id"]),
                value=None if c.get("value") is None else float(c["value"]),
                numerator=float(c.get("numerator") or 0),
                denominator=float(c.get("denominator") or 0),
                target=float(c["target"]),
                met=bool(c.get("met")),
            )
            for c in raw.get("criteria") or []
        )
        rank = raw.get("rank")
        last = raw.get("last_event_at")
        closed = raw.get("closed_at")
        return cls(
            period=str(raw["period"]),
            unit_id=str(raw["unit_id"]),
            tier=str(raw.get("tier") or ""),
            score=float(raw.get("score") or 0),
            rank=int(rank) if rank else None,  # 0 / None: not ranked (inactive)
            criteria=criteria,
            computed_at=_aware(raw["computed_at"]),
            last_event_at=_aware(last) if last else None,
            closed_at=_aware(closed) if closed else None,
        )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"naive time {text!r} in a kpi-results message")
    return moment


class Observations:
    """Accumulates scorecards; ``plans`` give the flow criteria (the rest are stocks) and the
    plan in force, whose target date the stock trend projects to."""

    def __init__(self, plans: Plans, rank_history: int = 1000) -> None:
        self.plans = plans
        self.flow_ids = frozenset(c.id for plan in plans for c in plan.criteria if c.kind == "flow")
        self.latest: dict[tuple[str, str], Scorecard] = {}
        # (unit, criterion) → period id → (period end day, value): stock values at period ends
        self.points: dict[tuple[str, str], dict[str, tuple[date, float]]] = {}
        self.ranks: dict[tuple[str, str], deque[tuple[datetime, int]]] = {}
        self.last_activity: dict[tuple[str, str], datetime] = {}
        # source topic family (events-dvc, …) → when ingest last accepted an event into it
        self.source_activity: dict[str, datetime] = {}
        self._rank_history = rank_history

    def add(self, card: Scorecard) -> None:
        key = (card.period, card.unit_id)
        previous = self.latest.get(key)
        if previous is not None and previous.computed_at > card.computed_at:
            return  # an older result replayed from the compacted topic
        self.latest[key] = card
        self._track_activity(key, previous, card)
        if card.rank is not None:
            history = self.ranks.setdefault(key, deque(maxlen=self._rank_history))
            history.append((card.computed_at, card.rank))
        try:
            period = parse_period(card.period, now=card.computed_at)
        except PeriodError:
            return
        if period.kind in ("year", "quarter"):
            for criterion in card.criteria:
                if criterion.id not in self.flow_ids and criterion.value is not None:
                    series = self.points.setdefault((card.unit_id, criterion.id), {})
                    series[card.period] = (period.end_day, criterion.value)

    def _track_activity(
        self, key: tuple[str, str], previous: Scorecard | None, card: Scorecard
    ) -> None:
        if card.last_event_at is not None:
            self.last_activity[key] = card.last_event_at
            return
        if previous is None:
            self.last_activity.setdefault(key, card.computed_at)
            return
        before = {c.id: c.denominator for c in previous.criteria}
        if any(
            c.id in self.flow_ids and c.denominator > before.get(c.id, 0.0) for c in card.criteria
        ):
            self.last_activity[key] = card.computed_at

    def saw_source(self, family: str, moment: datetime) -> None:
        last = self.source_activity.get(family)
        if last is None or moment > last:
            self.source_activity[family] = moment

    def cards(self, period: str) -> list[Scorecard]:
        return [card for (p, _), card in self.latest.items() if p == period]

    def closed(self, unit_id: str) -> bool:
        """The unit is closed now (SPEC §7.3: no new alerts, its alerts resolve): its latest
        ``rolling-30d`` scorecard says it closed in the window or was inactive all of it."""
        card = self.latest.get((ROLLING_30D, unit_id))
        return card is not None and (card.closed_at is not None or card.rank is None)
