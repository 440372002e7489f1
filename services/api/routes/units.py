"""A unit's scorecard (each criterion's evidence) and its score over time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.api.deps import PeriodParam, ReadAccess, Service
from services.api.problems import ProblemError, problem_responses
from services.api.responses import Json
from services.api.schemas import ScorecardOut, Trend

router = APIRouter(prefix="/units", tags=["units"], dependencies=[ReadAccess])
UnitId = Annotated[str, Path(min_length=1, max_length=200, examples=["so-tttt"])]


@router.get(
    "/{unit_id}/scorecard",
    response_model=ScorecardOut,
    summary="Scorecard: each criterion's numerator, denominator, target and attainment",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_scorecard(service: Service, unit_id: UnitId, period: PeriodParam) -> Json:
    view = await service.view(period)
    card = view.scorecard(unit_id)
    if card is None:
        raise ProblemError(
            404, "unit-not-found", f"unit {unit_id!r} is not registered at the end of {period.id}"
        )
    return Json(card)


@router.get(
    "/{unit_id}/trend",
    response_model=Trend,
    summary="Score and rank of the unit in every quarter since the phase began",
    responses=problem_responses(401, 403, 404),
)
async def get_trend(service: Service, unit_id: UnitId) -> Json:
    trend = await service.trend(unit_id)
    if trend is None:
        raise ProblemError(404, "unit-not-found", f"unit {unit_id!r} was never registered")
    return Json(trend)
