"""Pure rule conditions: which (unit, criterion) pairs breach each rule right now.

A rule kind maps observations to ``{(unit_id, criterion): Condition}`` for the pairs whose
condition holds; a pair absent from the map is fine. The state machine decides what fires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.notify.observations import Observations
from services.notify.rules import Rule
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.periods import PeriodError, parse_period, today

Key = tuple[str, str]  # (unit_id, criterion; "" when the rule is about the unit)


@dataclass(frozen=True, slots=True)
class Condition:
    summary: str  # Vietnamese, for people
    labels: dict[str, str] = field(default_factory=dict)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%".replace(".", ",")


def flow_below_target(
    rule: Rule, obs: Observations, now: datetime, labels: Mapping[str, str]
) -> dict[Key, Condition]:
    out: dict[Key, Condition] = {}
    for card in obs.cards(rule.period):
        if card.rank is None:
            continue  # inactive units are not judged
        for c in card.criteria:
            if c.id not in obs.flow_ids or not rule.applies_to(c.id) or c.value is None:
                continue
            if c.denominator < max(rule.min_denominator, 1e-9):
                continue
            if c.value < c.target - rule.margin:
                out[(card.unit_id, c.id)] = Condition(
                    f"{card.unit_id}: {c.id} {labels.get(c.id, '')} đạt {_pct(c.value)} "
                    f"({c.numerator:g}/{c.denominator:g}), dưới mục tiêu {_pct(c.target)} "
                    f"({rule.period})",
                    {"tier": card.tier, "period": rule.period, "value": f"{c.value:.4f}"},
                )
    return out


def trend_at(points: list[tuple[date, float]], deadline: date) -> float:
    """Least-squares line through (day, value), read at ``deadline``."""
    xs = [p[0].toordinal() for p in points]
    ys = [p[1] for p in points]
    n = len(points)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my + slope * (deadline.toordinal() - mx)


def stock_trend(
    rule: Rule, obs: Observations, now: datetime, labels: Mapping[str, str]
) -> dict[Key, Condition]:
    """A stock criterion whose trend over the current plan's quarter and year ends misses its
    target on the plan's target date (SPEC §6, §7.3); never a projection to a past date."""
    out: dict[Key, Condition] = {}
    plan = obs.plans.current(now)
    if plan is None:
        return out
    deadline = rule.deadline or plan.target_date
    if deadline < today(now):
        return out
    end = deadline + timedelta(days=1)  # period end days are exclusive
    targets = _stock_targets(obs, plan)
    for (unit_id, criterion), series in obs.points.items():
        if not rule.applies_to(criterion) or (unit_id, criterion) not in targets:
            continue
        tier, target = targets[(unit_id, criterion)]
        inside = [p for p in series.values() if plan.phase.start < p[0] <= end]
        at_deadline = [v for day, v in inside if day == end]
        points = sorted(inside)
        if at_deadline:
            projected, how = at_deadline[0], "đạt"
        elif len(points) >= rule.min_points:
            projected, how = min(max(trend_at(points, end), 0.0), 1.0), "dự báo đạt"
        else:
            continue
        if projected < target - rule.margin:
            out[(unit_id, criterion)] = Condition(
                f"{unit_id}: {criterion} {labels.get(criterion, '')} {how} {_pct(projected)} "
                f"vào {deadline:%d/%m/%Y}, chưa đạt mục tiêu {_pct(target)} "
                f"({plan.plan_id})",
                {"tier": tier, "projected": f"{projected:.4f}"},
            )
    return out


def _stock_targets(obs: Observations, plan: CriteriaConfig) -> dict[Key, tuple[str, float]]:
    """(unit, stock criterion) → (tier, target of ``plan``) for the units ranked in a period
    of ``plan`` (their tier as of that period)."""
    targets: dict[Key, tuple[str, float]] = {}
    for card in obs.latest.values():
        if card.rank is None or not _in_plan(card.period, plan, obs):
            continue
        for criterion in plan.criteria:
            tier = Tier(card.tier)
            if criterion.kind == "stock" and criterion.applies_to(tier):
                targets[(card.unit_id, criterion.id)] = (card.tier, criterion.targets[tier])
    return targets


def _in_plan(period_id: str, plan: CriteriaConfig, obs: Observations) -> bool:
    try:
        return obs.plans.for_period(parse_period(period_id)) is plan
    except PeriodError:
        return False


def silent(
    rule: Rule, obs: Observations, now: datetime, labels: Mapping[str, str]
) -> dict[Key, Condition]:
    out: dict[Key, Condition] = {}
    for card in obs.cards(rule.period):
        if card.rank is None or not any(c.id in obs.flow_ids for c in card.criteria):
            continue
        last = obs.last_activity.get((rule.period, card.unit_id))
        if last is not None and now - last >= timedelta(days=rule.days):
            out[(card.unit_id, "")] = Condition(
                f"{card.unit_id}: không có dữ liệu mới từ {last:%d/%m/%Y %H:%M} "
                f"(quá {rule.days} ngày)",
                {"tier": card.tier, "last_activity": last.isoformat()},
            )
    return out


_SOURCE_NAMES = {
    "events-registry": "danh mục đơn vị, cán bộ",
    "events-dvc": "Cổng dịch vụ công",
    "events-edoc": "Hệ thống quản lý văn bản, hồ sơ công việc",
    "events-training": "Hệ thống đào tạo (LMS)",
    "events-indicator": "Số liệu chỉ tiêu định kỳ",
}


def source_silent(
    rule: Rule, obs: Observations, now: datetime, labels: Mapping[str, str]
) -> dict[Key, Condition]:
    """A source system (one topic family each) that sent nothing accepted for N days."""
    out: dict[Key, Condition] = {}
    for family, last in obs.source_activity.items():
        if rule.applies_to(family) and now - last >= timedelta(days=rule.days):
            out[("", family)] = Condition(
                f"Nguồn {_SOURCE_NAMES.get(family, family)} ({family}) không gửi sự kiện mới "
                f"từ {last:%d/%m/%Y %H:%M} (quá {rule.days} ngày)",
                {"source": family, "last_activity": last.isoformat()},
            )
    return out


def rank_drop(
    rule: Rule, obs: Observations, now: datetime, labels: Mapping[str, str]
) -> dict[Key, Condition]:
    out: dict[Key, Condition] = {}
    since = now - rule.window
    for card in obs.cards(rule.period):
        history = obs.ranks.get((rule.period, card.unit_id))
        if card.rank is None or not history:
            continue
        best = min((rank for moment, rank in history if moment >= since), default=card.rank)
        if card.rank - best >= rule.places:
            out[(card.unit_id, "")] = Condition(
                f"{card.unit_id}: tụt {card.rank - best} bậc trên bảng xếp hạng {rule.period} "
                f"(từ hạng {best} xuống hạng {card.rank})",
                {"tier": card.tier, "period": rule.period, "rank": str(card.rank)},
            )
    return out


ConditionFn = Callable[[Rule, Observations, datetime, Mapping[str, str]], dict[Key, Condition]]
CONDITIONS: dict[str, ConditionFn] = {
    "flow_below_target": flow_below_target,
    "stock_trend": stock_trend,
    "silent": silent,
    "source_silent": source_silent,
    "rank_drop": rank_drop,
}
