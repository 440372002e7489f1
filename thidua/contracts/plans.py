"""Every plan at once (SPEC §7.1): which plan scores a period, and which periods exist.

A plan is one criteria file (``thidua.contracts.criteria``); the plans directory holds one file
per phase. A period is scored under the plan in force on its last day (``rolling-30d``: today).
The periods are the years, quarters and phases of some plan (a phase period is a plan's whole
phase), and ``rolling-30d``; anything else is a :class:`PeriodError` (the api's 422).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

from thidua.contracts.criteria import CriteriaConfig, load_criteria
from thidua.contracts.periods import ROLLING_30D, Period, PeriodError, parse_period, today

DEFAULT_PLANS_DIR = Path(__file__).resolve().parents[2] / "config" / "plans"


@dataclass(frozen=True)
class Plans:
    """The configured plans, ordered by phase, their phases disjoint."""

    plans: tuple[CriteriaConfig, ...]

    @classmethod
    def of(cls, plans: Iterable[CriteriaConfig]) -> Plans:
        ordered = tuple(sorted(plans, key=lambda p: p.phase.start))
        if not ordered:
            raise ValueError("no plan configured")
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.phase.start < before.phase.end:
                raise ValueError(
                    f"plans {before.plan_id} and {after.plan_id} overlap: each day of a "
                    "period must have one plan in force"
                )
        return cls(ordered)

    def __iter__(self) -> Iterator[CriteriaConfig]:
        return iter(self.plans)

    def by_id(self, plan_id: str) -> CriteriaConfig:
        for plan in self.plans:
            if plan.plan_id == plan_id:
                return plan
        raise KeyError(plan_id)

    def in_force(self, day: date) -> CriteriaConfig | None:
        """The plan whose phase holds ``day``."""
        for plan in self.plans:
            if plan.phase.contains(day):
                return plan
        return None

    def current(self, now: datetime) -> CriteriaConfig | None:
        return self.in_force(today(now))

    def for_period(self, period: Period) -> CriteriaConfig:
        """The plan in force on the period's last day."""
        plan = self.in_force(period.end_day - timedelta(days=1))
        if plan is None:
            raise PeriodError(f"no plan is in force on the last day of {period.id!r}")
        return plan

    def parse(self, text: str, now: datetime | None = None) -> Period:
        """A period id of SPEC §3 that some plan scores, else :class:`PeriodError`."""
        period = parse_period(text, now)
        plan = self.in_force(period.end_day - timedelta(days=1))
        if plan is None:
            raise PeriodError(f"{text!r} is outside every plan ({self._phases()})")
        if period.kind == "phase" and period.id != plan.plan_id:
            raise PeriodError(f"{text!r} is not a plan's phase ({self._phases()})")
        return period

    def _phases(self) -> str:
        return ", ".join(p.plan_id for p in self.plans)

    def periods(self, now: datetime, started_only: bool = True) -> list[Period]:
        """Every year and quarter of every plan, each phase and ``rolling-30d`` (when a plan
        is in force today); with ``started_only`` those that have begun by ``now``."""
        current = today(now)
        found: list[Period] = []
        for plan in self.plans:
            for year in range(plan.phase.start.year, plan.phase.end.year):
                found.append(parse_period(str(year), now))
                found.extend(parse_period(f"{year}-Q{q}", now) for q in range(1, 5))
            found.append(parse_period(plan.plan_id, now))
        if self.current(now) is not None:
            found.append(parse_period(ROLLING_30D, now))
        return [p for p in found if not started_only or p.start_day <= current]

    def indicator_ids(self) -> frozenset[str]:
        return frozenset(i for plan in self.plans for i in plan.indicator_ids())


def final(period: Period, now: datetime) -> bool:
    """Ended: its results no longer move with time (``rolling-30d`` never is)."""
    return period.id != ROLLING_30D and period.end <= now


def load_plans(directory: Path | str | None = None) -> Plans:
    """Every ``*.yaml`` plan file of ``directory``; a bad file or overlapping phases stop the
    start with a message naming the file."""
    folder = Path(directory) if directory else DEFAULT_PLANS_DIR
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        raise ValueError(f"no plan file (*.yaml) in {folder}")
    plans = [load_criteria(file) for file in files]
    for file, plan in zip(files, plans, strict=True):
        if file.stem != plan.plan_id:
            raise ValueError(f"plan file {file} holds {plan.plan_id}: name it {plan.plan_id}.yaml")
    return Plans.of(plans)


@cache
def default_plans() -> Plans:
    return load_plans()
