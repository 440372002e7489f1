"""A unit's scorecard (each criterion's evidence) and its score over time."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import OrderedDict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from services.api import compare, evidence
from services.api.deps import PeriodParam, ReadAccess, Service
from services.api.exports import NO, YES
from services.api.problems import ProblemError, problem_responses
from services.api.responses import Json, tagged
from services.api.schemas import CriterionTrend, EvidencePage, ScorecardOut, Trend
from services.api.service import KpiService
from thidua.contracts.periods import Period

router = APIRouter(prefix="/units", tags=["units"], dependencies=[ReadAccess])
UnitId = Annotated[str, Path(min_length=1, max_length=200, examples=["so-tttt"])]


@router.get(
    "/{unit_id}/scorecard",
    response_model=ScorecardOut,
    summary="Scorecard: each criterion's numerator, denominator, target and attainment",
    description="ETag / If-None-Match: 304 while the scorecard is unchanged.",
    responses={
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(401, 403, 404, 422),
    },
)
async def get_scorecard(
    request: Request, service: Service, unit_id: UnitId, period: PeriodParam
) -> Response:
    view = await service.view(period)
    card = view.scorecard(unit_id)
    if card is None:
        raise ProblemError(
            404, "unit-not-found", f"unit {unit_id!r} is not registered at the end of {period.id}"
        )
    return tagged(request, card)


@router.get(
    "/{unit_id}/trend",
    response_model=Trend | CriterionTrend,
    summary="Score and rank of the unit in every quarter since the phase began (or, with "
    "`criterion`, that criterion's value against its target)",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_trend(
    service: Service,
    unit_id: UnitId,
    criterion: Annotated[
        str | None,
        Query(pattern=r"^[A-Z][0-9]{2}$", description="one criterion's trend", examples=["C03"]),
    ] = None,
) -> Json:
    if criterion is not None:
        if all(criterion not in {c.id for c in plan.criteria} for plan in service.plans):
            raise ProblemError(422, "unknown-criterion", f"no criterion {criterion}")
        trend = await compare.criterion_trend(service, unit_id, criterion)
    else:
        trend = await service.trend(unit_id)
    if trend is None:
        raise ProblemError(404, "unit-not-found", f"unit {unit_id!r} was never registered")
    return Json(trend)


_EVIDENCE: OrderedDict[tuple[Any, ...], list[evidence.EvidenceItem]] = OrderedDict()
EVIDENCE_ENTRIES = 256

CriterionParam = Annotated[
    str, Query(pattern=r"^[A-Z][0-9]{2}$", description="criterion id", examples=["C03"])
]
Part = Annotated[
    Literal["all", "numerator", "denominator", "denominator_only"],
    Query(description="denominator_only: counted in the denominator but not the numerator"),
]


async def _evidence(
    service: KpiService, unit_id: str, period: Period, criterion_id: str
) -> tuple[dict[str, Any], list[evidence.EvidenceItem]]:
    view = await service.view(period)
    card = view.by_unit.get(unit_id)
    if card is None:
        raise ProblemError(
            404, "unit-not-found", f"unit {unit_id!r} is not registered at the end of {period.id}"
        )
    result = next((r for r in card.criteria if r.id == criterion_id), None)
    if result is None:
        raise ProblemError(
            422, "unknown-criterion", f"{criterion_id} is not a criterion of {card.unit.tier.value}"
        )
    criterion = view.plan.by_id(criterion_id)
    # the items change only with the data, and then the period's view is recomputed
    key = (period.id, view.computed_at, unit_id, criterion_id)
    items = _EVIDENCE.get(key)
    if items is None:
        future = service.pool.submit(
            evidence.query, service.client, criterion, card.unit.tier, unit_id, period
        )
        items = _EVIDENCE[key] = await asyncio.wrap_future(future)
        while len(_EVIDENCE) > EVIDENCE_ENTRIES:
            _EVIDENCE.popitem(last=False)
    numerator, denominator = evidence.totals(items)
    head = {
        "unit_id": unit_id,
        "name": card.unit.name,
        "period": period.id,
        "generated_at": view.generated_at,
        "criterion": {
            "id": criterion.id,
            "label": criterion.label,
            "kind": criterion.kind,
            "boolean": criterion.boolean,
        },
        "numerator": numerator,
        "denominator": denominator,
        "scorecard": {"numerator": result.numerator, "denominator": result.denominator},
    }
    return head, items


@router.get(
    "/{unit_id}/evidence",
    response_model=EvidencePage,
    summary="What a scorecard figure counts: the entities in its numerator and denominator",
    description=(
        "Every entity the criterion counted for the unit in the period, read from the raw "
        "events by the batch recompute's rules (SPEC §3): its id, the winning version's event "
        "time, source and event id, how many versions it had (all but one superseded), the "
        "fields that decided, and whether it is in the numerator and the denominator. "
        "`numerator`/`denominator` add up every page and equal the scorecard's. As CSV: "
        "`/evidence.csv`."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def get_evidence(
    service: Service,
    unit_id: UnitId,
    period: PeriodParam,
    criterion: CriterionParam,
    part: Part = "all",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Json:
    head, items = await _evidence(service, unit_id, period, criterion)
    chosen = evidence.select(items, part)
    start = (page - 1) * page_size
    return Json(
        {
            **head,
            "part": part,
            "total": len(chosen),
            "page": page,
            "page_size": page_size,
            "items": [i.json() for i in chosen[start : start + page_size]],
        }
    )


@router.get(
    "/{unit_id}/evidence.csv",
    summary="The evidence of one criterion as CSV (every entity, one row each)",
    response_class=Response,
    responses={
        200: {
            "description": "CSV, UTF-8 with BOM",
            "content": {
                "text/csv; charset=utf-8": {
                    "schema": {"type": "string"},
                    "example": "\ufeffMã,Thời điểm,Nguồn,Mã sự kiện,Số phiên bản,Bị thay thế,"
                    "Tính vào tử số,Tính vào mẫu số,channel,procedure_id\r\n",
                }
            },
        },
        **problem_responses(401, 403, 404, 422),
    },
)
async def get_evidence_csv(
    service: Service,
    unit_id: UnitId,
    period: PeriodParam,
    criterion: CriterionParam,
    part: Part = "all",
    dialect: Annotated[Literal["excel", "excel-vn"], Query()] = "excel",
) -> Response:
    _, items = await _evidence(service, unit_id, period, criterion)
    chosen = evidence.select(items, part)
    names = list(chosen[0].fields) if chosen else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", delimiter=";" if dialect == "excel-vn" else ",")
    writer.writerow(
        [
            "Mã",
            "Thời điểm",
            "Nguồn",
            "Mã sự kiện",
            "Số phiên bản",
            "Bị thay thế",
            "Tính vào tử số",
            "Tính vào mẫu số",
            *names,
        ]
    )
    for item in chosen:
        row = item.json()
        values = [_csv(row["fields"].get(n), dialect) for n in names]
        writer.writerow(
            [
                row["id"],
                row["time"],
                row["source"],
                row["event_id"],
                row["versions"],
                row["superseded"],
                _csv(item.in_numerator, dialect),
                _csv(item.in_denominator, dialect),
                *values,
            ]
        )
    name = f"minh-chung-{unit_id}-{criterion}-{period.id}.csv"
    return Response(
        "\ufeff".encode() + out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv(value: Any, dialect: str) -> Any:
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return str(value).replace(".", ",") if dialect == "excel-vn" else value
    return value
