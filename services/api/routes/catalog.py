"""What the dashboard needs to draw its selectors: tiers, criteria, periods, blocks."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import problem_responses
from services.api.responses import Json
from services.api.schemas import Blocks, Catalog

router = APIRouter(tags=["catalog"], dependencies=[ReadAccess])


@router.get("/catalog", response_model=Catalog, summary="Tiers, criteria with targets, periods")
async def get_catalog(service: Service) -> Json:
    return Json(await service.catalog())


@router.get(
    "/blocks",
    response_model=Blocks,
    summary="Emulation blocks (khối thi đua) of a tier in a period",
    responses=problem_responses(401, 403, 422),
)
async def get_blocks(service: Service, tier: TierParam, period: PeriodParam) -> Json:
    blocks = await service.blocks(period, tier)
    return Json({"tier": tier.value, "period": period.id, "blocks": blocks})
