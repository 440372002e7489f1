"""Exports for the annual report: rankings and scorecards as CSV or XLSX."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from services.api import exports
from services.api.deps import BlockParam, PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import problem_responses
from services.api.views import PeriodView
from thidua.contracts.events import Tier

router = APIRouter(prefix="/exports", tags=["exports"], dependencies=[ReadAccess])
Format = Literal["csv", "xlsx"]
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FILE_RESPONSES = {
    200: {
        "description": "CSV (UTF-8 with BOM) or XLSX with Vietnamese headers",
        "content": {_MEDIA["csv"]: {}, _MEDIA["xlsx"]: {}},
    },
    **problem_responses(401, 403, 422),
}


def _file(body: bytes, fmt: Format, name: str, view: PeriodView) -> Response:
    # RFC 6266: an ASCII name for every client, the exact one (blocks are Vietnamese) in UTF-8
    exact = f"{name}.{fmt}"
    plain = unicodedata.normalize("NFKD", exact.replace("đ", "d").replace("Đ", "D"))
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", plain.encode("ascii", "ignore").decode())
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(exact, safe='')}"
    plan = view.plan_fields  # SPEC §7.1 on every export, beside the file's own cells
    headers = {
        "Content-Disposition": disposition,
        "X-Thidua-Plan-Id": plan["plan_id"],
        "X-Thidua-Plan-Provisional": str(plan["plan_provisional"]).lower(),
        "X-Thidua-Final": str(plan["final"]).lower(),
    }
    return Response(body, media_type=_MEDIA[fmt], headers=headers)


@router.get("/rankings.{fmt}", summary="Bảng xếp hạng as CSV or XLSX", responses=_FILE_RESPONSES)
async def export_rankings(
    service: Service, fmt: Format, tier: TierParam, period: PeriodParam, block: BlockParam = None
) -> Response:
    view = await service.view(period)
    rows = exports.ranking_rows(view, tier, block)
    name = f"xep-hang-{tier.value}-{period.id}" + (f"-{block}" if block else "")
    if fmt == "csv":
        return _file(exports.to_csv(exports.RANKING_COLUMNS, rows), fmt, name, view)
    body = await run_in_threadpool(exports.to_xlsx, "Xếp hạng", exports.RANKING_COLUMNS, rows)
    return _file(body, fmt, name, view)


@router.get(
    "/scorecards.{fmt}",
    summary="Every unit's scorecard (one row per criterion) as CSV or XLSX",
    responses=_FILE_RESPONSES,
)
async def export_scorecards(
    service: Service, fmt: Format, period: PeriodParam, tier: Tier | None = None
) -> Response:
    view = await service.view(period)
    rows = exports.scorecard_rows(view, view.plan, tier)
    name = f"phieu-diem-{period.id}" + (f"-{tier.value}" if tier else "")
    if fmt == "csv":
        return _file(exports.to_csv(exports.SCORECARD_COLUMNS, rows), fmt, name, view)
    body = await run_in_threadpool(exports.to_xlsx, "Phiếu điểm", exports.SCORECARD_COLUMNS, rows)
    return _file(body, fmt, name, view)
