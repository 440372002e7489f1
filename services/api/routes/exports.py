"""Exports for the annual report: rankings and scorecards as CSV or XLSX."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from services.api import dossier, exports, xlsx
from services.api.deps import BlockParam, PeriodParam, ReadAccess, Service, TierParam
from services.api.problems import ProblemError, problem_responses
from services.api.views import PeriodView
from thidua.contracts.events import Tier

router = APIRouter(prefix="/exports", tags=["exports"], dependencies=[ReadAccess])
Format = Literal["csv", "xlsx"]
DialectParam = Annotated[
    exports.Dialect,
    Query(
        description="CSV only: `excel` (`,` and decimal points) or `excel-vn` (`;` and "
        "decimal commas, for Excel in a Vietnamese locale)"
    ),
]
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FILE_RESPONSES = {
    200: {
        "description": "CSV (UTF-8 with BOM) or XLSX with Vietnamese headers",
        "content": {
            _MEDIA["csv"]: {
                "schema": {"type": "string"},
                "example": "\ufeffHạng,Mã đơn vị,Tên đơn vị,Khối thi đua,Điểm,Tiêu chí đạt,…\r\n"
                "1,so-tttt,Sở Thông tin và Truyền thông,khoi-1,97.5,15,…\r\n",
            },
            _MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
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
    service: Service,
    fmt: Format,
    tier: TierParam,
    period: PeriodParam,
    block: BlockParam = None,
    dialect: DialectParam = "excel",
) -> Response:
    view = await service.view(period)
    rows = exports.ranking_rows(view, tier, block)
    name = f"xep-hang-{tier.value}-{period.id}" + (f"-{block}" if block else "")
    if fmt == "csv":
        return _file(exports.to_csv(exports.RANKING_COLUMNS, rows, dialect), fmt, name, view)
    title = f"Xếp hạng {exports.TIER_SHORT[tier]} — {period.id}"
    body = await run_in_threadpool(xlsx.table_book, title, exports.RANKING_COLUMNS, rows)
    return _file(body, fmt, name, view)


@router.get(
    "/scorecards.{fmt}",
    summary="Every unit's scorecard as CSV (one row per criterion) or XLSX (that sheet, then "
    "one units × criteria sheet per tier)",
    responses=_FILE_RESPONSES,
)
async def export_scorecards(
    service: Service,
    fmt: Format,
    period: PeriodParam,
    tier: Tier | None = None,
    dialect: DialectParam = "excel",
) -> Response:
    view = await service.view(period)
    name = f"phieu-diem-{period.id}" + (f"-{tier.value}" if tier else "")
    if fmt == "csv":
        rows = exports.scorecard_rows(view, view.plan, tier)
        return _file(exports.to_csv(exports.SCORECARD_COLUMNS, rows, dialect), fmt, name, view)
    body = await run_in_threadpool(exports.scorecards_xlsx, view, view.plan, tier)
    return _file(body, fmt, name, view)


@router.get(
    "/award-dossier.xlsx",
    summary="Hồ sơ đề nghị khen thưởng: cover, rankings per tier, award list, evidence per unit",
    description=(
        "One workbook for Sở Nội vụ (seed §IV.3): a cover sheet (plan, period, cut-off, "
        "generated_at, *tạm tính* while the period has not ended, the provisional plan's "
        "note), one ranking sheet per ranked tier, the award list, and one evidence sheet per "
        "eligible unit (every criterion: numerator, denominator, value, target, met). A4 "
        "landscape, header rows repeated on each page, autofilters. Years and phases only."
    ),
    responses={
        200: {
            "description": "XLSX workbook",
            "content": {_MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 403, 422),
    },
)
async def export_award_dossier(service: Service, period: PeriodParam) -> Response:
    if not period.awardable:
        raise ProblemError(
            422,
            "not-awardable",
            f"{period.id} is a {period.kind}: awards exist for years and the phase",
        )
    view = await service.view(period)
    meta = dossier.plan_meta(view)
    body = await run_in_threadpool(dossier.award_dossier, view, view.plan, meta)
    return _file(body, "xlsx", f"ho-so-khen-thuong-{period.id}", view)
