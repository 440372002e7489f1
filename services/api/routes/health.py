"""/healthz (the process answers), /readyz (ClickHouse, and Kafka when the writer is embedded),
/metrics (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.responses import Json
from services.api.schemas import Health

router = APIRouter(tags=["health"])
READY_TIMEOUT = 5.0


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Json:
    return Json({"status": "ok", "checks": {}})


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: ClickHouse answers, and Kafka when the writer runs here",
    responses={503: {"model": Health, "description": "a dependency does not answer"}},
)
async def readyz(request: Request) -> Json:
    checks: dict[str, str] = {}
    for name, probe in request.app.state.readiness.items():
        try:
            await asyncio.wait_for(asyncio.to_thread(probe), READY_TIMEOUT)
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 — any failure means not ready
            checks[name] = f"{type(exc).__name__}: {exc}"[:300]
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    return Json(body, status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
