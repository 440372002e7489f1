"""Alert rules (SPEC §6) as config: config/notify-rules.yaml, validated once at start."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "notify-rules.yaml"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``7d`` (or seconds as a number)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise ValueError(f"bad duration {value!r}: use e.g. 30s, 15m, 2h, 7d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Kind = Literal["flow_below_target", "stock_trend", "silent", "source_silent", "rank_drop"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Kind
    severity: Literal["critical", "warning", "info"] = "warning"
    for_: Duration = Field(timedelta(minutes=30), alias="for")
    keep_firing_for: Duration = timedelta(hours=2)
    repeat_interval: Duration = timedelta(hours=24)
    period: str = "rolling-30d"
    criteria: tuple[str, ...] = ()  # empty: every criterion the kind applies to
    margin: float = Field(0.0, ge=0)
    min_denominator: float = Field(0.0, ge=0)
    deadline: date | None = None  # default: the target date of the plan in force now
    min_points: int = Field(3, ge=2)
    days: int = Field(7, ge=1)
    places: int = Field(5, ge=1)
    window: Duration = timedelta(days=7)

    def applies_to(self, criterion_id: str) -> bool:
        return not self.criteria or criterion_id in self.criteria


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[Rule, ...]


def parse_rules(raw: dict[str, Any]) -> RulesConfig:
    defaults = raw.get("defaults") or {}
    rules = [{**defaults, **rule} for rule in raw.get("rules") or []]
    config = RulesConfig.model_validate({"rules": rules})
    names = [r.name for r in config.rules]
    if len(names) != len(set(names)):
        raise ValueError("rule names must be unique")
    return config


def load_rules(path: Path | str | None = None) -> RulesConfig:
    file = Path(path) if path else DEFAULT_RULES_FILE
    try:
        return parse_rules(yaml.safe_load(file.read_text(encoding="utf-8")) or {})
    except (OSError, ValueError) as exc:
        raise ValueError(f"invalid notify rules {file}: {exc}") from exc
