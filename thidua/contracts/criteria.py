"""One plan's criteria config (SPEC §3, §7.1): loaded and validated once at start.

Each criterion reads two *measures* — named counters kept per (unit, measure, local day) —
as numerator and denominator. Event-sourced measures are produced by scoring's processors
(named in the catalogue, ``thidua.contracts.measures``); an indicator criterion ``Cxx`` reads
the measures ``indicator.Cxx.num`` / ``indicator.Cxx.den``. Every plan file of the plans
directory is one :class:`CriteriaConfig`; ``thidua.contracts.plans`` holds them together.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from thidua.contracts.events import Tier
from thidua.contracts.measures import kind_of


def indicator_measures(criterion_id: str) -> tuple[str, str]:
    return f"indicator.{criterion_id}.num", f"indicator.{criterion_id}.den"


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z][0-9]{2}$")
    label: str
    kind: Literal["flow", "stock"]
    source: Literal["events", "indicator"] = "events"
    boolean: bool = False
    numerator: str | None = None
    denominator: str | None = None
    numerator_by_tier: dict[Tier, str] = Field(default_factory=dict)
    targets: dict[Tier, float]
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _measures_match_source(self) -> Criterion:
        if self.source == "indicator":
            if self.numerator or self.denominator or self.numerator_by_tier:
                raise ValueError(f"{self.id}: an indicator criterion names no measures")
            if self.kind != "stock":
                raise ValueError(f"{self.id}: indicators are stocks")
        elif not (self.numerator and self.denominator):
            raise ValueError(f"{self.id}: an event criterion needs numerator and denominator")
        names = [self.numerator, self.denominator, *self.numerator_by_tier.values()]
        for name in filter(None, names):
            kind = kind_of(name)
            if kind is None:
                raise ValueError(f"{self.id}: unknown measure {name!r}")
            if kind != self.kind:
                raise ValueError(
                    f"{self.id}: measure {name!r} is a {kind}, the criterion a {self.kind}"
                )
        for tier in self.numerator_by_tier:
            if tier not in self.targets:
                raise ValueError(
                    f"{self.id}: numerator_by_tier names {tier.value}, which has no target"
                )
        for tier, target in self.targets.items():
            if not 0 < target <= 1:
                raise ValueError(f"{self.id}: target for {tier} must be in (0, 1]")
        return self

    def measures(self, tier: Tier) -> tuple[str, str]:
        """(numerator, denominator) measure names for a unit of ``tier``."""
        if self.source == "indicator":
            return indicator_measures(self.id)
        assert self.numerator and self.denominator
        return self.numerator_by_tier.get(tier, self.numerator), self.denominator

    def applies_to(self, tier: Tier) -> bool:
        return tier in self.targets


class Phase(BaseModel):
    """``[start, end)`` in local days; a plan's phase is whole calendar years."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date
    end: date

    @model_validator(mode="after")
    def _whole_years(self) -> Phase:
        if (self.start.month, self.start.day, self.end.month, self.end.day) != (1, 1, 1, 1):
            raise ValueError("a phase starts and ends on 1 January")
        if self.end <= self.start:
            raise ValueError("a phase ends after it starts")
        return self

    @property
    def period_id(self) -> str:
        return f"phase-{self.start.year}-{self.end.year - 1}"

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


class CriteriaConfig(BaseModel):
    """One plan (SPEC §7.1): its phase, target date, criteria, targets and weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan_id: str
    phase: Phase
    target_date: date
    provisional: bool = False
    note: str | None = None
    version: str
    plan: str  # the plan's title, for people
    award: str
    tiers: dict[Tier, str]
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _consistent(self) -> CriteriaConfig:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criterion ids must be unique")
        if self.plan_id != self.phase.period_id:
            raise ValueError(
                f"plan_id {self.plan_id!r} must name its phase ({self.phase.period_id!r})"
            )
        if not self.phase.contains(self.target_date):
            raise ValueError(f"target_date {self.target_date} is outside the plan's phase")
        if self.provisional and not self.note:
            raise ValueError("a provisional plan says why in its note")
        for criterion in self.criteria:
            for tier in criterion.targets:
                if tier not in self.tiers:
                    raise ValueError(f"{criterion.id}: tier {tier.value} is not among the tiers")
        return self

    def by_id(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def for_tier(self, tier: Tier) -> list[Criterion]:
        return [c for c in self.criteria if c.applies_to(tier)]

    def indicator_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.criteria if c.source == "indicator")


def load_criteria(path: Path | str) -> CriteriaConfig:
    """Load and validate one plan file; errors name the file and the offending entry."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read criteria file {file}: {exc}") from exc
    try:
        return CriteriaConfig.model_validate(raw)
    except ValueError as exc:
        raise ValueError(f"invalid criteria file {file}: {exc}") from exc
