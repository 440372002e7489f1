"""Alerts as notify published them, and their silences (Alertmanager style)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from services.api import alert_pages
from services.api.alert_pages import MAX_LIMIT, AlertFilter, CursorError, UnitFacts
from services.api.alerts import TooManySilences
from services.api.deps import AlertsDep, ReadAccess, Service, WriteAccess
from services.api.problems import ProblemError, problem_responses
from services.api.responses import Json
from services.api.schemas import Alerts, Silence, SilenceIn, Silences
from services.api.service import KpiService
from services.api.views import now_local, rfc3339
from thidua.contracts.events import Tier
from thidua.contracts.periods import PeriodError, today

router = APIRouter(tags=["alerts"], dependencies=[ReadAccess])


@router.get(
    "/alerts",
    response_model=Alerts,
    summary="Alerts, newest first: filtered, paged, counted by rule and severity",
    description=(
        "Page with `limit` (≤ 500) and the `next_cursor` of the previous answer, or with "
        "`page`/`page_size`. `counts` and `total` cover every alert the filters accept, not "
        "only the page. Each alert carries its unit's name, tier and block as registered now."
    ),
    responses=problem_responses(401, 403, 422),
)
async def get_alerts(
    alerts: AlertsDep,
    service: Service,
    state: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    unit_id: Annotated[str | None, Query(max_length=200)] = None,
    tier: Annotated[Tier | None, Query()] = None,
    block: Annotated[str | None, Query(max_length=200, description="khối thi đua")] = None,
    rule: Annotated[str | None, Query(max_length=200, examples=["flow_below_target"])] = None,
    severity: Annotated[
        Literal["info", "warning", "critical"] | None, Query(description="alert severity")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=500, description="next_cursor of the previous page")
    ] = None,
    page: Annotated[int | None, Query(ge=1, le=100_000, description="1-based page")] = None,
    page_size: Annotated[
        int | None, Query(ge=1, le=MAX_LIMIT, description="with page; default: limit")
    ] = None,
) -> Json:
    wanted = AlertFilter(state, unit_id, tier.value if tier else None, block, rule, severity)
    units = await _units(service)
    chosen = [
        alert
        for alert in (alert_pages.with_unit(a, units) for a in await alerts.alerts(state, unit_id))
        if wanted.accepts(alert)
    ]
    size = page_size or limit
    try:
        body = alert_pages.page(chosen, size, cursor, page)
    except CursorError as exc:
        raise ProblemError(422, "invalid-cursor", str(exc)) from None
    extra = {"page": page, "page_size": size} if page is not None else {}
    return Json({"generated_at": rfc3339(now_local()), **body, **extra})


async def _units(service: KpiService) -> dict[str, UnitFacts]:
    """Every unit's name, tier and block as registered now (this year's view), and as they
    stood last year for a unit that has closed since (its alerts are resolved, still listed)."""
    year = today(now_local()).year
    units: dict[str, UnitFacts] = {}
    for period_id in (str(year - 1), str(year)):  # this year's facts win
        try:
            view = await service.view(service.parse(period_id))
        except PeriodError:  # before the first plan
            continue
        for unit_id, card in view.by_unit.items():
            units[unit_id] = UnitFacts(card.unit.name, card.unit.tier.value, card.unit.block)
    return units


@router.get("/silences", response_model=Silences, summary="Silences (active, pending, expired)")
async def get_silences(alerts: AlertsDep) -> Json:
    return Json({"items": alerts.silences()})


@router.post(
    "/silences",
    response_model=Silence,
    status_code=201,
    summary="Silence matching alerts until ends_at",
    dependencies=[WriteAccess],
    responses=problem_responses(401, 403, 409, 413, 422),
)
async def post_silence(alerts: AlertsDep, body: SilenceIn) -> Json:
    try:
        silence = await alerts.run(
            alerts.create_silence,
            [m.model_dump() for m in body.matchers],
            body.starts_at,
            body.ends_at,
            body.created_by,
            body.comment,
        )
    except TooManySilences as exc:
        raise ProblemError(409, "too-many-silences", str(exc)) from None
    return Json(silence, status_code=201)


@router.delete(
    "/silences/{silence_id}",
    status_code=204,
    summary="Expire a silence",
    dependencies=[WriteAccess],
    responses=problem_responses(401, 403, 404),
)
async def delete_silence(
    alerts: AlertsDep, silence_id: Annotated[str, Path(max_length=64)]
) -> Response:
    if not await alerts.run(alerts.delete_silence, silence_id):
        raise ProblemError(404, "silence-not-found", f"no silence {silence_id!r}")
    return Response(status_code=204)
