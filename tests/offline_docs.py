"""Every service's /docs works without internet access (thidua.docs)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def assert_docs_served_locally(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs-assets/{asset}" in page.text
        served = client.get(f"/docs-assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000
    assert client.get("/redoc").status_code == 404  # it would load from a CDN
    assert client.get("/openapi.json").status_code == 200
