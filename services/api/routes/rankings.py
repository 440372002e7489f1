"""GET /v1/rankings — the ranking of one tier in one period (optionally one block)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.deps import BlockParam, PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import problem_responses
from services.api.schemas import Rankings

router = APIRouter(tags=["rankings"], dependencies=[ReadAccess])


@router.get(
    "/rankings",
    response_model=Rankings,
    summary="Bảng xếp hạng: ranking within a tier (and block)",
    responses={
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(401, 403, 422),
    },
)
async def get_rankings(
    request: Request,
    service: Service,
    tier: TierParam,
    period: PeriodParam,
    block: BlockParam = None,
) -> Response:
    view = await service.view(period)
    body, etag = view.rankings_encoded(tier, block)
    headers = {"ETag": etag.decode(), "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
