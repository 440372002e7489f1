"""GET /v1/awards — units eligible for the provincial award (Bằng khen Chủ tịch UBND tỉnh)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.deps import PeriodParam, ReadAccess, Service
from services.api.problems import ProblemError, problem_responses
from services.api.responses import tagged
from services.api.schemas import Awards
from thidua.contracts.events import Tier

router = APIRouter(tags=["awards"], dependencies=[ReadAccess])


@router.get(
    "/awards",
    response_model=Awards,
    summary="Award-eligible units: every applicable criterion met, none without data",
    description="ETag / If-None-Match: 304 while the list is unchanged.",
    responses={
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(401, 403, 422),
    },
)
async def get_awards(
    request: Request, service: Service, period: PeriodParam, tier: Tier | None = None
) -> Response:
    if not period.awardable:
        raise ProblemError(
            422,
            "not-awardable",
            f"{period.id} is a {period.kind}: awards exist for years and the phase",
        )
    view = await service.view(period)
    return tagged(
        request,
        {
            "period": period.id,
            "tier": tier.value if tier else None,
            "award": view.plan.award,
            "generated_at": view.generated_at,
            **view.plan_fields,
            "items": view.awards(tier),
        },
    )
