"""The criteria config (SPEC §3): loaded and validated once at start.

Each criterion reads two *measures* — named counters kept per (unit, measure, local day) —
as numerator and denominator. Event-sourced measures are produced by scoring's processors;
an indicator criterion ``Cxx`` reads the measures ``indicator.Cxx.num`` / ``indicator.Cxx.den``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from thidua.contracts.events import Tier

DEFAULT_CRITERIA_FILE = Path(__file__).resolve().parents[2] / "config" / "criteria-2021-2025.yaml"


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


class CriteriaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    plan: str
    phase: str
    award: str
    tiers: dict[Tier, str]
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _unique_ids(self) -> CriteriaConfig:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criterion ids must be unique")
        return self

    def by_id(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def for_tier(self, tier: Tier) -> list[Criterion]:
        return [c for c in self.criteria if c.applies_to(tier)]

    def flow_measures(self) -> frozenset[str]:
        """Measures summed inside a period; every other measure is cumulated to its end."""
        return frozenset(
            m
            for c in self.criteria
            if c.kind == "flow"
            for tier in c.targets
            for m in c.measures(tier)
        )

    def indicator_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.criteria if c.source == "indicator")


def load_criteria(path: Path | str | None = None) -> CriteriaConfig:
    """Load and validate a criteria file; errors name the file and the offending entry."""
    file = Path(path) if path else DEFAULT_CRITERIA_FILE
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read criteria file {file}: {exc}") from exc
    try:
        return CriteriaConfig.model_validate(raw)
    except ValueError as exc:
        raise ValueError(f"invalid criteria file {file}: {exc}") from exc


@cache
def default_criteria() -> CriteriaConfig:
    return load_criteria()
