"""GET /v1/rankings — the ranking of one tier in one period (optionally one block)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.api.deps import BlockParam, PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import problem_responses
from services.api.schemas import Rankings

router = APIRouter(tags=["rankings"], dependencies=[ReadAccess])


@router.get(
    "/rankings",
    response_model=Rankings,
    summary="Bảng xếp hạng: ranking within a tier (and block)",
    responses=problem_responses(401, 403, 422),
)
async def get_rankings(
    service: Service, tier: TierParam, period: PeriodParam, block: BlockParam = None
) -> Response:
    view = await service.view(period)
    return Response(view.rankings_bytes(tier, block), media_type="application/json")
