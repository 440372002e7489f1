"""GET /v1/scorecards — every ranked unit of a tier with each criterion's figures (the
dashboard's heatmap) and its rank change against the previous period of the same kind."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api import compare
from services.api.deps import BlockParam, PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import problem_responses
from services.api.schemas import Matrix

router = APIRouter(tags=["scorecards"], dependencies=[ReadAccess])


@router.get(
    "/scorecards",
    response_model=Matrix,
    summary="Units × criteria of a tier: figures, attainment, rank and rank change",
    description=(
        "The ranked units of the tier (within the block when asked), each with every "
        "criterion's numerator, denominator, value, target and whether it is met, and its rank "
        "change against the previous period of the same kind (2025 against 2024, 2025-Q3 "
        "against 2025-Q2; none for rolling-30d and phases). ETag / If-None-Match."
    ),
    responses={
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(401, 403, 422),
    },
)
async def get_scorecards(
    request: Request,
    service: Service,
    tier: TierParam,
    period: PeriodParam,
    block: BlockParam = None,
) -> Response:
    view = await service.view(period)
    previous_id = compare.previous_period(period)
    previous = await service.view(service.parse(previous_id)) if previous_id else None
    body, etag = compare.matrix_encoded(view, previous, tier, block or None)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
