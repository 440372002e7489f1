"""The batch recompute, run by the api on the engine it owns (embedded mode: no other process
may open the chDB path, so `thidua recompute` asks here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import Service, WriteAccess
from services.api.problems import problem_responses
from services.api.responses import Json
from services.api.schemas import RecomputeReport

router = APIRouter(tags=["recompute"], dependencies=[WriteAccess])


@router.post(
    "/recompute",
    response_model=RecomputeReport,
    summary="Recompute every standard period from the raw events (ClickHouse SQL) and compare",
    description=(
        "Tính lại toàn bộ chỉ tiêu từ sự kiện gốc và đối chiếu với kết quả trực tuyến. "
        "Per period: units compared and every difference (unit, field, streaming, batch); "
        "reads of the api wait while it runs."
    ),
    responses=problem_responses(401, 403),
)
async def post_recompute(
    service: Service,
    settle: Annotated[
        bool,
        Query(description="compare again, after 2, 4 and 8 s, the periods that differ (live)"),
    ] = False,
) -> Json:
    doc: dict[str, Any] = await service.recompute(settle)
    return Json(doc)
