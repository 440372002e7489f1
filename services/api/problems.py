"""RFC 9457 problem details for every error the api returns, validation errors included."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api.cache import CacheBusy
from services.api.responses import Json
from services.api.schemas import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (title, what it means); served at /problems/{slug} so each `type` URI resolves.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "unknown-period": (
        "Unknown period",
        "The period is not one SPEC §3 defines: a year (2025), a quarter (2025-Q3), "
        "'rolling-30d' or the phase (phase-2021-2025).",
    ),
    "not-awardable": (
        "Period without awards",
        "Awards (Bằng khen Chủ tịch UBND tỉnh) exist for calendar years and the phase only.",
    ),
    "unit-not-found": (
        "Unit not found",
        "No unit with this id is registered at the end of the period.",
    ),
    "silence-not-found": ("Silence not found", "No silence with this id."),
    "invalid-cursor": (
        "Invalid cursor",
        "The cursor was not handed out by this api: pass `next_cursor` from the previous page.",
    ),
    "unknown-criterion": (
        "Unknown criterion",
        "The criterion is not one of the unit's tier in the plan the period is scored under.",
    ),
    "unavailable": (
        "Data not available",
        "The scores could not be read from ClickHouse; the answer is retried on the next request.",
    ),
    "invalid-request": (
        "Invalid request",
        "A parameter or the body does not match the OpenAPI document; see `errors`.",
    ),
    "unauthorized": (
        "Unauthorized",
        "Send `Authorization: Bearer <token>`: a read token, or for writes a write token.",
    ),
    "forbidden": ("Forbidden", "The token is not one of the api's read (or write) tokens."),
    "too-many-silences": (
        "Too many silences",
        "The cap on silences in force is reached: expire one first (THIDUA_API_MAX_SILENCES).",
    ),
    "too-many-streams": (
        "Too many live streams",
        "The cap on open SSE streams is reached (THIDUA_API_MAX_STREAMS); retry later.",
    ),
    "busy": (
        "Busy",
        "Too many periods not yet in memory are being computed for readers; retry later.",
    ),
    "too-large": ("Content too large", "The request body is over THIDUA_API_MAX_BODY_BYTES."),
    "request-timeout": (
        "Request timeout",
        "The request body did not arrive within THIDUA_HTTP_BODY_TIMEOUT_SECONDS.",
    ),
}


class ProblemError(Exception):
    def __init__(self, status: int, slug: str, detail: str | None = None) -> None:
        super().__init__(detail or slug)
        self.status = status
        self.slug = slug
        self.detail = detail


def problem_response(
    request: Request,
    status: int,
    slug: str | None,
    detail: str | None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Json:
    if slug in PROBLEM_TYPES:
        type_uri, title = f"/problems/{slug}", PROBLEM_TYPES[slug][0]
    else:
        type_uri, title = "about:blank", HTTPStatus(status).phrase
    instance = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = Problem(
        type=type_uri, title=title, status=status, detail=detail, instance=instance, errors=errors
    )
    return Json(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Json:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status in (429, 503):
            headers = {"Retry-After": "5"}
        return problem_response(request, exc.status, exc.slug, exc.detail, headers=headers)

    @app.exception_handler(CacheBusy)
    async def _busy(request: Request, exc: CacheBusy) -> Json:
        return problem_response(request, 503, "busy", str(exc), headers={"Retry-After": "2"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Json:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem_response(request, 422, "invalid-request", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Json:
        return problem_response(
            request, exc.status_code, None, str(exc.detail), headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Json:
        # Logged by Starlette's error middleware; the client still gets a problem document.
        return problem_response(request, 500, "unavailable", type(exc).__name__)

    @app.get("/problems/{slug}", include_in_schema=False)
    async def _problem_doc(slug: str) -> PlainTextResponse:
        if slug not in PROBLEM_TYPES:
            raise ProblemError(404, "not-found", f"no problem type {slug!r}")
        title, text = PROBLEM_TYPES[slug]
        return PlainTextResponse(f"{title}\n\n{text}\n")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json answers."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
