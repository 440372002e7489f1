"""`Annotated` dependency aliases: what a handler needs, by name (full-stack-fastapi style)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request

from services.api.alerts import AlertsService
from services.api.problems import ProblemError
from services.api.service import KpiService
from services.api.sse import RankingsHub
from thidua.contracts.events import Tier
from thidua.contracts.periods import Period, PeriodError
from thidua.settings import ApiSettings

TOKEN_COOKIE = "thidua_token"
PERIOD_PATTERN = r"^((20\d\d|2100)(-Q[1-4])?|rolling-30d|phase-20\d\d-20\d\d)$"
DASHBOARD_COOKIE = "thidua_dashboard"


async def _service(request: Request) -> KpiService:
    return request.app.state.service  # type: ignore[no-any-return]


async def _alerts(request: Request) -> AlertsService:
    return request.app.state.alerts  # type: ignore[no-any-return]


async def _hub(request: Request) -> RankingsHub:
    return request.app.state.hub  # type: ignore[no-any-return]


async def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


Service = Annotated[KpiService, Depends(_service)]
AlertsDep = Annotated[AlertsService, Depends(_alerts)]
Hub = Annotated[RankingsHub, Depends(_hub)]
Settings = Annotated[ApiSettings, Depends(_settings)]


async def _period(
    service: Service,
    period: Annotated[
        str,
        Query(
            description="2025 (year), 2025-Q3 (quarter), rolling-30d, phase-2021-2025",
            examples=["2025"],
            # documented, not enforced here: a mismatch is answered as unknown-period below
            json_schema_extra={"pattern": PERIOD_PATTERN},
        ),
    ],
) -> Period:
    try:
        return service.parse(period)
    except PeriodError as exc:
        raise ProblemError(422, "unknown-period", str(exc)) from None


PeriodParam = Annotated[Period, Depends(_period)]
TierParam = Annotated[Tier, Query(description="province_agency, district, commune, enterprise")]
BlockParam = Annotated[
    str | None,
    Query(max_length=200, description="khối thi đua: ranks are recomputed within the block"),
]


def _known(token: str | None, tokens: list[str]) -> bool:
    # Bytes, not str: compare_digest raises TypeError on non-ASCII text (a 500, not a 401).
    if not token:
        return False
    given = token.encode("utf-8", "surrogateescape")
    return any(hmac.compare_digest(given, known.encode()) for known in tokens)


def token_valid(settings: ApiSettings, token: str | None) -> bool:
    return _known(token, settings.api_read_tokens)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def require_read(request: Request) -> None:
    """/v1 reads: a bearer token when tokens are configured. The dashboard's browser session
    (EventSource cannot send headers) may instead carry the token, or, when the dashboard is
    public, the dashboard cookie, as a SameSite=Strict cookie."""
    settings: ApiSettings = request.app.state.settings
    if not settings.api_read_tokens:
        return
    token = bearer(request)
    if token is None:
        cookie = request.cookies.get(TOKEN_COOKIE)
        if token_valid(settings, cookie):
            return
        session = request.cookies.get(DASHBOARD_COOKIE)
        if (
            settings.api_dashboard_public
            and session
            and hmac.compare_digest(session, request.app.state.dashboard_session)
        ):
            return
        raise ProblemError(401, "unauthorized", "a read token is required")
    if not token_valid(settings, token):
        raise ProblemError(403, "forbidden", "unknown token")


async def require_write(request: Request) -> None:
    """Writes (silences, recompute) always need a write token (SPEC §7.3), even when reads are
    open, and take it from the Authorization header only: no cookies, so a page of another
    site cannot forge them. With no write token configured every write is refused."""
    settings: ApiSettings = request.app.state.settings
    token = bearer(request)
    if token is None:
        raise ProblemError(401, "unauthorized", "a write token is required (Authorization: Bearer)")
    if not _known(token, settings.api_write_tokens):
        raise ProblemError(403, "forbidden", "not a write token")


ReadAccess = Depends(require_read)
WriteAccess = Depends(require_write)
