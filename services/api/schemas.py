"""Response and request shapes of SPEC §5, with the examples the OpenAPI document shows.

Ratios are fractions (0.8), scores 0–100 unrounded, times RFC 3339 with the +07:00 offset.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from thidua.contracts.events import Tier

GENERATED_AT = "2025-11-25T22:40:07+07:00"


# What a field means wherever it appears, unless the field says more itself.
FIELD_DOCS = {
    "unit_id": "the unit's registry id (SPEC §2)",
    "name": "the unit's Vietnamese name in force at the period's end",
    "tier": "province_agency (sở, ban, ngành), district (huyện), commune (xã), enterprise",
    "block": "khối thi đua (emulation block), null when none",
    "period": "2025 (year), 2025-Q3 (quarter), rolling-30d or phase-2021-2025",
    "generated_at": "when the figures were computed, RFC 3339 with +07:00",
    "items": "the entries, in order",
    "criteria_met": "criteria whose value reaches the target",
    "criteria_total": "criteria applicable to the unit's tier",
    "id": "identifier",
    "label": "Vietnamese label, from the plan's wording",
    "kind": "flow: counted by event time in the period; stock: latest state at its end",
    "boolean": "a yes/no criterion (value 1 or 0)",
    "numerator": "items counted in the numerator",
    "denominator": "items counted in the denominator (0: no data)",
    "target": "the plan's target as a fraction (0.8 = 80%)",
    "met": "value ≥ target",
    "plans": "every configured plan (a directory of plan files), oldest first",
    "plan_id": "the plan's id: its phase period (phase-2021-2025)",
    "plan_provisional": "the plan's targets are provisional",
    "provisional": "the plan's targets are provisional until the province adopts its own",
    "note": "why the plan is provisional",
    "target_date": "when the plan's targets are due",
    "final": "false while the period has not ended: tạm tính",
    "started": "the period has begun",
    "scored": "always false: shown beside the score, never part of it",
    "successor_id": "the unit its data counts for once closed (SPEC §7.2)",
    "successor_name": "the successor's name in the period",
    "closed_at": "closing time when the unit closed inside the period (SPEC §7.2)",
    "attainment": "min(value / target, 1); a boolean 1 or 0; 0 without data",
    "weight": "the criterion's weight in the score (default 1)",
    "value": "numerator / denominator; null without data",
    "score": "0–100, unrounded",
    "rank": "competition rank in the tier (and block): 1, 2, 2, 4; null when not ranked",
    "active": "the unit is active at the period's end",
    "no_data": "criteria without data (attainment 0)",
    "award_eligible": "every applicable criterion met in an awardable period, none without data",
    "award": "the award's name (Bằng khen Chủ tịch UBND tỉnh)",
    "points": "one point per quarter since the phase began",
    "fingerprint": "rule|unit|criterion: one alert per triple",
    "rule": "the alert rule's name (config)",
    "criterion": "criterion id (C01…E02), empty for unit-wide rules",
    "severity": "info, warning or critical",
    "summary": "a Vietnamese sentence saying what is wrong",
    "labels": "extra labels (tier, block, …)",
    "starts_at": "when it started, RFC 3339",
    "ends_at": "when it ended (null: still on)",
    "updated_at": "last change, RFC 3339",
    "matchers": "all must equal the alert's field or label of that name",
    "created_by": "who made it",
    "comment": "why",
    "status": "the current status",
    "plan": "the plan (Kế hoạch) the criteria come from",
    "phase": "the plan's phase period",
    "tiers": "tiers with their Vietnamese labels",
    "criteria": "criteria with their targets per tier",
    "periods": "periods that can be asked for, newest first",
    "targets": "tier → target fraction",
    "blocks": "blocks of the tier with at least one unit in the period",
    "title": "short, human-readable summary of the problem type",
    "type": "URI reference identifying the problem type",
    "detail": "explanation specific to this occurrence",
    "instance": "the request that failed",
    "checks": "each dependency → ok or the failure",
    "units": "units compared",
    "counts": "alerts per rule and per severity over every page",
    "differences": "differences found",
    "reason": "no_data or below_target",
}


def _describe(schema: dict[str, Any]) -> None:
    for field_name, prop in schema.get("properties", {}).items():
        if "description" not in prop and field_name in FIELD_DOCS:
            prop["description"] = FIELD_DOCS[field_name]


class Documented(BaseModel):
    """A response or request model whose fields are described in the OpenAPI document."""

    model_config = ConfigDict(json_schema_extra=_describe)


def _examples(*examples: dict[str, Any], forbid_extra: bool = False) -> ConfigDict:
    def extra(schema: dict[str, Any]) -> None:
        _describe(schema)
        schema["examples"] = list(examples)

    if forbid_extra:
        return ConfigDict(json_schema_extra=extra, extra="forbid")
    return ConfigDict(json_schema_extra=extra)


class PlanFields(Documented):
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


class RankingItem(Documented):
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
    total: int | None = Field(None, description="paged: ranked units on every page")
    page: int | None = Field(None, description="paged: this page, 1-based")
    page_size: int | None = Field(None, description="paged: items per page")


class CriterionEvidence(Documented):
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


class MissingForAward(Documented):
    id: str
    label: str
    reason: Literal["no_data", "below_target"]
    value: float | None
    target: float
    numerator_needed: float | None = Field(
        description="items the numerator still needs at the same denominator (null: no data)"
    )


class Rate766(Documented):
    label: str
    numerator: float
    denominator: float
    value: float | None = Field(description="null: no dossier said (denominator 0)")


class Index766(Documented):
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


class AwardItem(Documented):
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


class EvidenceItem(Documented):
    id: str = Field(description="the entity's id (dossier_id, staff_id, …)")
    time: AwareDatetime = Field(description="the winning version's event time")
    source: str = Field(description="the winning version's source system")
    event_id: str = Field(description="the winning version's CloudEvents id")
    versions: int = Field(ge=1, description="versions of this entity received")
    superseded: int = Field(ge=0, description="versions replaced by the winning one")
    unit_id: str = Field(
        description="the unit its winning version names: a closed unit's, when it counts for "
        "its successor (SPEC §7.2)"
    )
    fields: dict[str, Any] = Field(description="the winning version's fields that decided")
    in_numerator: bool = Field(description="counted in the numerator")
    in_denominator: bool = Field(description="counted in the denominator")


class EvidenceCriterion(Documented):
    id: str
    label: str
    kind: Literal["flow", "stock"]
    boolean: bool


class EvidenceTotals(Documented):
    numerator: float
    denominator: float


class EvidencePage(Documented):
    model_config = _examples(
        {
            "unit_id": "so-tttt",
            "name": "Sở Thông tin và Truyền thông",
            "period": "2025",
            "generated_at": GENERATED_AT,
            "criterion": {
                "id": "C03",
                "label": "Hồ sơ TTHC xử lý hoàn toàn trực tuyến",
                "kind": "flow",
                "boolean": False,
            },
            "numerator": 471,
            "denominator": 769,
            "scorecard": {"numerator": 471, "denominator": 769},
            "part": "denominator_only",
            "total": 298,
            "page": 1,
            "page_size": 100,
            "items": [
                {
                    "id": "000.00.12.H59-250803-0001",
                    "time": "2025-08-03T09:15:00+07:00",
                    "source": "https://dichvucong.tuyenquang.gov.vn",
                    "event_id": "dvc-2025-000123",
                    "versions": 2,
                    "superseded": 1,
                    "fields": {"channel": "online_partial", "procedure_id": "1.001234"},
                    "in_numerator": False,
                    "in_denominator": True,
                }
            ],
        }
    )
    unit_id: str
    name: str
    period: str
    generated_at: AwareDatetime
    criterion: EvidenceCriterion = Field(description="the criterion asked for")
    numerator: float = Field(description="sum over every page: equals the scorecard's")
    denominator: float = Field(description="sum over every page: equals the scorecard's")
    scorecard: EvidenceTotals = Field(description="the scorecard's figures, for comparison")
    part: Literal["all", "numerator", "denominator", "denominator_only"] = Field(
        description="which entities are listed"
    )
    total: int = Field(ge=0, description="entities of that part, on every page")
    page: int = Field(ge=1, description="1-based page")
    page_size: int = Field(ge=1, le=500, description="entities per page")
    items: list[EvidenceItem]


class MatrixCell(Documented):
    """One criterion of one unit; its id and target are the matching entry of `criteria`."""

    value: float | None
    numerator: float
    denominator: float
    met: bool
    attainment: float = Field(ge=0, le=1)


class MatrixItem(Documented):
    rank: int
    previous_rank: int | None = Field(description="rank in the previous period of the same kind")
    rank_change: int | None = Field(description="previous_rank − rank: positive means up")
    unit_id: str
    name: str
    block: str | None
    score: float
    criteria_met: int
    criteria_total: int
    closed_at: AwareDatetime | None = Field(description="closed in the period (SPEC §7.2)")
    successor_id: str | None = Field(description="the unit it merged into, when closed")
    successor_name: str | None = Field(description="the successor's name in the period")
    cells: list[MatrixCell] = Field(description="one per criterion, in the order of `criteria`")


class MatrixCriterion(Documented):
    id: str
    label: str
    boolean: bool
    target: float


class Matrix(Documented):
    model_config = _examples(
        {
            "tier": "province_agency",
            "period": "2025",
            "block": None,
            "generated_at": GENERATED_AT,
            "previous_period": "2024",
            "criteria": [
                {
                    "id": "C03",
                    "label": "Hồ sơ TTHC xử lý hoàn toàn trực tuyến",
                    "boolean": False,
                    "target": 0.8,
                }
            ],
            "items": [
                {
                    **{k: v for k, v in _RANKING_ITEM.items() if k != "no_data"},
                    "previous_rank": 3,
                    "rank_change": 2,
                    "closed_at": None,
                    "successor_id": None,
                    "successor_name": None,
                    "cells": [
                        {
                            "value": 0.612,
                            "numerator": 471,
                            "denominator": 769,
                            "met": False,
                            "attainment": 0.765,
                        }
                    ],
                }
            ],
        }
    )
    tier: Tier
    period: str
    block: str | None
    generated_at: AwareDatetime
    previous_period: str | None = Field(description="the period rank changes compare with")
    criteria: list[MatrixCriterion] = Field(description="the tier's criteria, in column order")
    items: list[MatrixItem] = Field(description="ranked units, best first")


class CriterionTrendPoint(Documented):
    period: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    met: bool | None


class CriterionTrend(Documented):
    model_config = _examples(
        {
            "unit_id": "so-tttt",
            "name": "Sở Thông tin và Truyền thông",
            "criterion": {
                "id": "C03",
                "label": "Hồ sơ TTHC xử lý hoàn toàn trực tuyến",
                "kind": "flow",
                "boolean": False,
            },
            "generated_at": GENERATED_AT,
            "points": [
                {
                    "period": "2025-Q1",
                    "value": 0.55,
                    "numerator": 110,
                    "denominator": 200,
                    "target": 0.8,
                    "met": False,
                },
                {
                    "period": "2025-Q2",
                    "value": 0.82,
                    "numerator": 164,
                    "denominator": 200,
                    "target": 0.8,
                    "met": True,
                },
            ],
        }
    )
    unit_id: str
    name: str
    criterion: EvidenceCriterion = Field(description="the criterion")
    generated_at: AwareDatetime
    points: list[CriterionTrendPoint]


class TrendPoint(Documented):
    period: str
    score: float | None
    rank: int | None
    criteria_met: int | None
    criteria_total: int | None


class Trend(Documented):
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


class Alert(Documented):
    fingerprint: str
    rule: str
    unit_id: str
    unit_name: str = Field(description="the unit's name as registered now (else its id)")
    tier: Tier | None = Field(description="the unit's tier as registered now")
    block: str | None
    criterion: str
    state: str = Field(description="firing | resolved (as notify publishes them)")
    severity: str
    summary: str
    labels: dict[str, Any]
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None
    updated_at: AwareDatetime
    silenced_by: list[str] = Field(description="ids of the active silences matching this alert")


class AlertCounts(Documented):
    rule: dict[str, int] = Field(description="rule → alerts, most first")
    severity: dict[str, int] = Field(description="severity → alerts, most first")


class Alerts(Documented):
    model_config = _examples(
        {
            "generated_at": GENERATED_AT,
            "items": [
                {
                    "fingerprint": "flow_below_target|xa-an-tuong|C13",
                    "rule": "flow_below_target",
                    "unit_id": "xa-an-tuong",
                    "unit_name": "UBND xã An Tường",
                    "tier": "commune",
                    "block": None,
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
            "total": 1,
            "next_cursor": None,
            "counts": {"rule": {"flow_below_target": 1}, "severity": {"warning": 1}},
        }
    )
    generated_at: AwareDatetime
    items: list[Alert]
    total: int = Field(ge=0, description="alerts the filters accept, on every page")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
    counts: AlertCounts
    page: int | None = Field(None, description="when paged by page/page_size")
    page_size: int | None = Field(None, description="when paged by page/page_size")


class Matcher(Documented):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=100, description="rule, unit_id, criterion, severity or a label"
    )
    value: str = Field(max_length=500)


class SilenceIn(Documented):
    model_config = _examples(
        {
            "matchers": [{"name": "unit_id", "value": "xa-an-tuong"}],
            "ends_at": "2025-12-01T00:00:00+07:00",
            "created_by": "so-noi-vu",
            "comment": "Đơn vị đang sáp nhập",
        },
        forbid_extra=True,
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


_SILENCE = {
    "id": "5f0c2b7e9a0d4d7c8e1f2a3b4c5d6e7f",
    "matchers": [{"name": "unit_id", "value": "xa-an-tuong"}],
    "starts_at": "2025-11-25T08:00:00+07:00",
    "ends_at": "2025-12-01T00:00:00+07:00",
    "created_by": "so-noi-vu",
    "comment": "Đơn vị đang sáp nhập",
    "status": "active",
}


class Silence(Documented):
    model_config = _examples(_SILENCE)
    id: str
    matchers: list[Matcher]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_by: str
    comment: str
    status: Literal["pending", "active", "expired"]


class Silences(Documented):
    model_config = _examples({"items": [_SILENCE]})
    items: list[Silence]


class TierLabel(Documented):
    id: Tier
    label: str


class CriterionInfo(Documented):
    id: str
    label: str
    kind: Literal["flow", "stock"]
    boolean: bool
    targets: dict[str, float]


class PlanInfo(Documented):
    plan_id: str
    title: str
    start: date = Field(description="first day of the phase")
    end: date = Field(description="the day after the phase")
    target_date: date
    provisional: bool
    note: str | None
    award: str


class PeriodTier(Documented):
    id: Tier
    label: str
    ranked: int = Field(description="units ranked in the period")
    until: date | None = Field(
        None, description="every ranked unit of the tier closed by then (e.g. districts)"
    )


class PeriodInfo(Documented):
    id: str
    kind: Literal["year", "quarter", "phase", "rolling"]
    plan_id: str
    plan_provisional: bool
    final: bool
    started: bool
    tiers: list[PeriodTier] = Field(description="tiers with at least one ranked unit")


class Catalog(Documented):
    plan: str = Field(description="title of the plan in force today")
    award: str
    phase: str = Field(description="plan_id of the plan in force today")
    plans: list[PlanInfo]
    tiers: list[TierLabel]
    criteria: list[CriterionInfo] = Field(description="the criteria of the plan in force today")
    periods: list[PeriodInfo] = Field(
        description="every period some plan scores, newest first; started ones first"
    )


class Blocks(Documented):
    model_config = _examples(
        {"tier": "commune", "period": "2025", "blocks": ["Khối xã vùng cao", "Khối phường"]}
    )
    tier: Tier
    period: str
    blocks: list[str]


class Problem(Documented):
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


class Health(Documented):
    model_config = _examples({"status": "ok", "checks": {"clickhouse": "ok"}})
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class RecomputeDifference(Documented):
    """One field of one unit's scorecard that the two computations disagree on."""

    unit_id: str
    field: str = Field(description='"present", "score", "rank", "C03.numerator", …')
    streaming: Any = Field(description="from the counters the Faust workers published")
    batch: Any = Field(description="from the raw events, in ClickHouse SQL")


class RecomputePeriod(Documented):
    period: str
    units: int = Field(ge=0, description="units compared")
    differences: list[RecomputeDifference]


class RecomputeReport(Documented):
    model_config = _examples(
        {
            "periods": [{"period": "2025", "units": 141, "differences": []}],
            "differences": 0,
        }
    )

    periods: list[RecomputePeriod]
    differences: int = Field(ge=0, description="in all periods (0: the results are proven)")
