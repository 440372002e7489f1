"""Swagger UI from the service itself, not from a CDN: a province's internal network may have
no internet, and FastAPI's default /docs and /redoc pages load their scripts from jsDelivr.

Each service's FastAPI app is created with ``docs_url=None, redoc_url=None`` and then
:func:`serve_docs` adds ``/docs`` with the assets of the ``swagger-ui-bundle`` package.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"


def serve_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) for ``app``'s OpenAPI document, assets under ``/docs-assets``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — tài liệu API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
