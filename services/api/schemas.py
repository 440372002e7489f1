"""Response and request shapes of SPEC §5, with the examples the OpenAPI document shows.

Ratios are fractions (0.8), scores 0–100 unrounded, times RFC 3339 with the +07:00 offset.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from thidua.contracts.events import Tier

GENERATED_AT = "2025-11-25T22:40:07+07:00"


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class PlanFields(BaseModel):
    """Which plan scored the answer, and whether it can still move (SPEC §7.1)."""

    plan_id: str = Field(description="the plan in force on the period's last day")
    plan_provisional: bool = Field(description="the plan's targets are provisional")
    plan_note: str | None = Field(None, description="why the plan is provisional")
    final: bool = Field(description="false while the period has not ended: tạm tính")


_PLAN = {
    "plan_id": "phase-2021-2025",
    "plan_provisional": False,
    "plan_note": None,
    "final": True,
}


class RankingItem(BaseModel):
    rank: int = Field(ge=1, description="competition rank within the tier (and block): 1,2,2,4")
    unit_id: str
    name: str = Field(description="the unit's name at the period's end (or at its closing)")
    block: str | None = Field(None, description="khối thi đua")
    score: float = Field(ge=0, le=100, description="0–100, unrounded")
    criteria_met: int
    criteria_total: int
    no_data: list[str] = Field(description="criteria without data (attainment 0)")
    closed_at: AwareDatetime | None = Field(
        None, description="the unit closed inside the period (ranked as of then, never awarded)"
    )
    successor_id: str | None = Field(None, description="the unit its data counts for once closed")
    successor_name: str | None = Field(None, description="the successor's name in the period")


_RANKING_ITEM = {
    "rank": 1,
    "unit_id": "so-tttt",
    "name": "Sở Thông tin và Truyền thông",
    "block": "khoi-1",
    "score": 97.5,
    "criteria_met": 15,
    "criteria_total": 16,
    "no_data": [],
    "closed_at": None,
    "successor_id": None,
    "successor_name": None,
}


class Rankings(PlanFields):
    model_config = _examples(
        {
            "tier": "province_agency",
            "period": "2025",
            "block": None,
            "generated_at": GENERATED_AT,
            **_PLAN,
            "items": [_RANKING_ITEM],
        }
    )
    tier: Tier
    period: str
    block: str | None = None
    generated_at: AwareDatetime
    items: list[RankingItem]


class CriterionEvidence(BaseModel):
    id: str
    label: str
    kind: Literal["flow", "stock"]
    boolean: bool
    value: float | None = Field(description="numerator / denominator; null without data")
    numerator: float
    denominator: float
    target: float
    met: bool
    attainment: float = Field(ge=0, le=1)
    weight: float


class MissingForAward(BaseModel):
    id: str
    label: str
    reason: Literal["no_data", "below_target"]
    value: float | None
    target: float
    numerator_needed: float | None = Field(
        description="items the numerator still needs at the same denominator (null: no data)"
    )


class Rate766(BaseModel):
    label: str
    numerator: float
    denominator: float
    value: float | None = Field(description="null: no dossier said (denominator 0)")


class Index766(BaseModel):
    """ "Chỉ số 766 (tham khảo)": the national index's dossier rates of the period, shown
    beside the score and never part of it (thidua/contracts/index766.py)."""

    label: str = "Chỉ số 766 (tham khảo)"
    scored: Literal[False] = False
    on_time: Rate766 = Field(description="processed on time / processed (766 rule 2.1)")
    digitised: Rate766 = Field(description="with a digitised component / stated (rule 4.3)")
    paid_online: Rate766 = Field(description="paid online / a fee was due (rule 3.6)")


class ScorecardOut(PlanFields):
    model_config = _examples(
        {
            "unit_id": "so-tttt",
            "name": "Sở Thông tin và Truyền thông",
            "tier": "province_agency",
            "block": "khoi-1",
            "active": True,
            "closed_at": None,
            "successor_id": None,
            "successor_name": None,
            "period": "2025",
            "generated_at": GENERATED_AT,
            **_PLAN,
            "score": 97.5,
            "rank": 1,
            "criteria_met": 15,
            "criteria_total": 16,
            "no_data": [],
            "award_eligible": False,
            "awardable_period": True,
            "criteria": [
                {
                    "id": "C03",
                    "label": "Hồ sơ TTHC xử lý hoàn toàn trực tuyến",
                    "kind": "flow",
                    "boolean": False,
                    "value": 0.6,
                    "numerator": 60,
                    "denominator": 100,
                    "target": 0.8,
                    "met": False,
                    "attainment": 0.75,
                    "weight": 1.0,
                }
            ],
            "missing_for_award": [
                {
                    "id": "C03",
                    "label": "Hồ sơ TTHC xử lý hoàn toàn trực tuyến",
                    "reason": "below_target",
                    "value": 0.6,
                    "target": 0.8,
                    "numerator_needed": 20,
                }
            ],
        }
    )
    unit_id: str
    name: str
    tier: Tier
    block: str | None
    active: bool
    closed_at: AwareDatetime | None = Field(None, description="closed inside the period")
    successor_id: str | None = None
    successor_name: str | None = None
    period: str
    generated_at: AwareDatetime
    score: float = Field(ge=0, le=100)
    rank: int | None = Field(description="null: not ranked (inactive on every day of the period)")
    criteria_met: int
    criteria_total: int
    no_data: list[str]
    award_eligible: bool
    awardable_period: bool = Field(description="awards exist for years and the phase only")
    criteria: list[CriterionEvidence]
    missing_for_award: list[MissingForAward] = Field(
        description="criteria not met yet: what the unit lacks for the provincial award"
    )
    index_766: Index766 | None = Field(
        None, description="Chỉ số 766 (tham khảo): shown, not scored"
    )


class AwardItem(BaseModel):
    unit_id: str
    name: str
    tier: Tier
    block: str | None
    rank: int | None
    score: float
    criteria_met: int
    criteria_total: int


class Awards(PlanFields):
    model_config = _examples(
        {
            "period": "2025",
            "tier": None,
            "award": "Bằng khen Chủ tịch UBND tỉnh",
            "generated_at": GENERATED_AT,
            **_PLAN,
            "items": [
                {
                    "unit_id": "so-tttt",
                    "name": "Sở Thông tin và Truyền thông",
                    "tier": "province_agency",
                    "block": "khoi-1",
                    "rank": 1,
                    "score": 100.0,
                    "criteria_met": 16,
                    "criteria_total": 16,
                }
            ],
        }
    )
    period: str
    tier: Tier | None
    award: str
    generated_at: AwareDatetime
    items: list[AwardItem] = Field(description="each unit's scorecard is its evidence")


class TrendPoint(BaseModel):
    period: str
    score: float | None
    rank: int | None
    criteria_met: int | None
    criteria_total: int | None


class Trend(BaseModel):
    model_config = _examples(
        {
            "unit_id": "so-tttt",
            "name": "Sở Thông tin và Truyền thông",
            "tier": "province_agency",
            "generated_at": GENERATED_AT,
            "points": [
                {
                    "period": "2025-Q1",
                    "score": 80.1,
                    "rank": 3,
                    "criteria_met": 11,
                    "criteria_total": 16,
                },
                {
                    "period": "2025-Q2",
                    "score": 91.0,
                    "rank": 1,
                    "criteria_met": 13,
                    "criteria_total": 16,
                },
            ],
        }
    )
    unit_id: str
    name: str
    tier: Tier
    generated_at: AwareDatetime
    points: list[TrendPoint]


class Alert(BaseModel):
    fingerprint: str
    rule: str
    unit_id: str
    criterion: str
    state: str = Field(description="firing | resolved (as notify publishes them)")
    severity: str
    summary: str
    labels: dict[str, Any]
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None
    updated_at: AwareDatetime
    silenced_by: list[str] = Field(description="ids of the active silences matching this alert")


class Alerts(BaseModel):
    model_config = _examples(
        {
            "generated_at": GENERATED_AT,
            "items": [
                {
                    "fingerprint": "flow_below_target|xa-an-tuong|C13",
                    "rule": "flow_below_target",
                    "unit_id": "xa-an-tuong",
                    "criterion": "C13",
                    "state": "firing",
                    "severity": "warning",
                    "summary": "C13 trên 30 ngày: 45% < 60%",
                    "labels": {"tier": "commune"},
                    "starts_at": "2025-11-20T08:00:00+07:00",
                    "ends_at": None,
                    "updated_at": "2025-11-25T08:00:00+07:00",
                    "silenced_by": [],
                }
            ],
        }
    )
    generated_at: AwareDatetime
    items: list[Alert]


class Matcher(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=100, description="rule, unit_id, criterion, severity or a label"
    )
    value: str = Field(max_length=500)


class SilenceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "matchers": [{"name": "unit_id", "value": "xa-an-tuong"}],
                    "ends_at": "2025-12-01T00:00:00+07:00",
                    "created_by": "so-noi-vu",
                    "comment": "Đơn vị đang sáp nhập",
                }
            ]
        },
    )
    matchers: list[Matcher] = Field(min_length=1, max_length=20)
    starts_at: AwareDatetime | None = Field(None, description="default: now")
    ends_at: AwareDatetime
    created_by: str = Field(min_length=1, max_length=200)
    comment: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _sensible_window(self) -> SilenceIn:
        for moment in (self.starts_at, self.ends_at):
            if moment is not None and not 2000 <= moment.astimezone(UTC).year <= 2100:
                raise ValueError("silence times must fall within 2000–2100")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Silence(BaseModel):
    id: str
    matchers: list[Matcher]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_by: str
    comment: str
    status: Literal["pending", "active", "expired"]


class Silences(BaseModel):
    items: list[Silence]


class TierLabel(BaseModel):
    id: Tier
    label: str


class CriterionInfo(BaseModel):
    id: str
    label: str
    kind: Literal["flow", "stock"]
    boolean: bool
    targets: dict[str, float]


class PlanInfo(BaseModel):
    plan_id: str
    title: str
    start: date = Field(description="first day of the phase")
    end: date = Field(description="the day after the phase")
    target_date: date
    provisional: bool
    note: str | None
    award: str


class PeriodTier(BaseModel):
    id: Tier
    label: str
    ranked: int = Field(description="units ranked in the period")
    until: date | None = Field(
        None, description="every ranked unit of the tier closed by then (e.g. districts)"
    )


class PeriodInfo(BaseModel):
    id: str
    kind: Literal["year", "quarter", "phase", "rolling"]
    plan_id: str
    plan_provisional: bool
    final: bool
    started: bool
    tiers: list[PeriodTier] = Field(description="tiers with at least one ranked unit")


class Catalog(BaseModel):
    plan: str = Field(description="title of the plan in force today")
    award: str
    phase: str = Field(description="plan_id of the plan in force today")
    plans: list[PlanInfo]
    tiers: list[TierLabel]
    criteria: list[CriterionInfo] = Field(description="the criteria of the plan in force today")
    periods: list[PeriodInfo] = Field(
        description="every period some plan scores, newest first; started ones first"
    )


class Blocks(BaseModel):
    tier: Tier
    period: str
    blocks: list[str]


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    model_config = _examples(
        {
            "type": "/problems/unknown-period",
            "title": "Unknown period",
            "status": 422,
            "detail": "unknown period '2025-Q5': use a year (2025), a quarter (2025-Q3), …",
            "instance": "/v1/rankings?tier=district&period=2025-Q5",
        }
    )
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(None, description="each invalid parameter")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class RecomputeDifference(BaseModel):
    """One field of one unit's scorecard that the two computations disagree on."""

    unit_id: str
    field: str = Field(description='"present", "score", "rank", "C03.numerator", …')
    streaming: Any = Field(description="from the counters the Faust workers published")
    batch: Any = Field(description="from the raw events, in ClickHouse SQL")


class RecomputePeriod(BaseModel):
    period: str
    units: int = Field(ge=0, description="units compared")
    differences: list[RecomputeDifference]


class RecomputeReport(BaseModel):
    model_config = _examples(
        {
            "periods": [{"period": "2025", "units": 141, "differences": []}],
            "differences": 0,
        }
    )

    periods: list[RecomputePeriod]
    differences: int = Field(ge=0, description="in all periods (0: the results are proven)")
