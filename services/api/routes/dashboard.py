"""The operators' dashboard: one page, its script and stylesheet, all shipped in the package.

Public when ``THIDUA_API_DASHBOARD_PUBLIC`` is true: the page then sets a session cookie that
lets its own script read /v1. Otherwise open it once as ``/?token=<read token>``: the token is
kept in an HttpOnly, SameSite=Strict cookie for the page's reads and live stream.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.api.deps import DASHBOARD_COOKIE, TOKEN_COOKIE, token_valid

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
router = APIRouter(include_in_schema=False)


# Everything the page needs comes from this server; bars are sized with inline styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@router.get("/")
async def root(request: Request) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/dashboard{query}", status_code=307)


@router.get("/dashboard")
async def dashboard(request: Request, token: str | None = None) -> Response:
    settings = request.app.state.settings
    page = HTMLResponse(
        (STATIC_DIR / "index.html").read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
    )
    if not settings.api_read_tokens:
        return page
    if settings.api_dashboard_public:
        page.set_cookie(
            DASHBOARD_COOKIE, request.app.state.dashboard_session, httponly=True, samesite="strict"
        )
        return page
    candidate = token or request.cookies.get(TOKEN_COOKIE)
    if not token_valid(settings, candidate):
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Thi đua CĐS</title>"
            "<p>Cần mã truy cập: mở <code>/dashboard?token=…</code></p>",
            status_code=401,
        )
    if token:  # keep it out of the address bar and history
        redirect = RedirectResponse("/dashboard", status_code=303)
        redirect.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return redirect
    return page
