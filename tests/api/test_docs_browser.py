"""/docs of every service renders its OpenAPI 3.1 document offline in headless Chromium:
Swagger UI 5 lists every operation (Swagger UI 4 answered "Unable to render this definition")."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi import FastAPI

from tests.api.browser import DashboardPage, chromium_binary
from tests.api.conftest import LiveServer, keep_screenshot
from thidua.docs import operations

pytestmark = pytest.mark.skipif(chromium_binary() is None, reason="Debian chromium not installed")

OPERATIONS_JS = (
    "[...document.querySelectorAll('.opblock')].map(o => "
    "o.querySelector('.opblock-summary-method').innerText.toLowerCase() + ' ' + "
    "o.querySelector('.opblock-summary-path').getAttribute('data-path'))"
)


def ingest_app() -> FastAPI:
    from services.ingest.app import create_app
    from thidua.settings import IngestSettings

    os.environ.setdefault("THIDUA_INGEST_OPEN", "true")
    return create_app(IngestSettings())


def notify_app() -> FastAPI:
    from services.notify.main import create_app
    from services.notify.settings import NotifyServiceSettings

    return create_app(None, NotifyServiceSettings())  # type: ignore[arg-type]


def listed_operations(app: FastAPI, name: str, lifespan: str = "off") -> tuple[list[str], Any]:
    with LiveServer(app, lifespan=lifespan) as server, DashboardPage(f"{server.url}/docs") as page:
        page.wait_for("document.querySelectorAll('.opblock').length > 0")
        shown = page.evaluate(OPERATIONS_JS)
        assert page.evaluate("document.body.innerText").find("Unable to render") < 0
        assert page.evaluate("document.querySelector('.info .title').innerText").startswith(
            app.title
        )
        keep_screenshot(page, f"docs-{name}")
        assert page.console == [], page.console
    return shown, app.openapi()


@pytest.mark.parametrize("service", ["api", "ingest", "notify"])
def test_docs_list_every_operation(service: str, app: FastAPI) -> None:
    target = {"api": lambda: app, "ingest": ingest_app, "notify": notify_app}[service]()
    shown, document = listed_operations(target, service)
    expected = {f"{method} {path}" for path, method, _ in operations(document)}
    assert set(shown) == expected and len(shown) == len(expected)
    if service == "api":
        assert "get /v1/exports/award-dossier.xlsx" in shown
        assert document["openapi"].startswith("3.1")
        assert set(document["components"]["securitySchemes"]) == {"readToken", "writeToken"}
