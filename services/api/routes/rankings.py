"""GET /v1/rankings — the ranking of one tier in one period (optionally one block)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.api.deps import BlockParam, PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import problem_responses
from services.api.responses import tagged
from services.api.schemas import Rankings

router = APIRouter(tags=["rankings"], dependencies=[ReadAccess])


@router.get(
    "/rankings",
    response_model=Rankings,
    summary="Bảng xếp hạng: ranking within a tier (and block)",
    description=(
        "ETag / If-None-Match: 304 while the ranking is unchanged. With `page` and/or "
        "`page_size` one page of the items, and `total`."
    ),
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
    page: Annotated[int | None, Query(ge=1, le=100_000, description="1-based page")] = None,
    page_size: Annotated[
        int | None, Query(ge=1, le=500, description="items per page (default 50)")
    ] = None,
) -> Response:
    view = await service.view(period)
    if page is not None or page_size is not None:
        number, size = page or 1, page_size or 50
        document = view.rankings(tier, block)
        items = document["items"]
        sliced = items[(number - 1) * size : number * size]
        paged = {**document, "items": sliced, "total": len(items), "page": number}
        return tagged(request, {**paged, "page_size": size})
    body, etag = view.rankings_encoded(tier, block)
    headers = {"ETag": etag.decode(), "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
