"""Alerts as notify published them, and their silences (Alertmanager style)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from services.api.alerts import TooManySilences
from services.api.deps import AlertsDep, ReadAccess, WriteAccess
from services.api.problems import ProblemError, problem_responses
from services.api.responses import Json
from services.api.schemas import Alerts, Silence, SilenceIn, Silences
from services.api.views import now_local, rfc3339

router = APIRouter(tags=["alerts"], dependencies=[ReadAccess])


@router.get(
    "/alerts",
    response_model=Alerts,
    summary="Alerts, newest first",
    responses=problem_responses(401, 403, 422),
)
async def get_alerts(
    alerts: AlertsDep,
    state: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    unit_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Json:
    items = await alerts.alerts(state, unit_id)
    return Json({"generated_at": rfc3339(now_local()), "items": items})


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
