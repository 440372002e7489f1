"""Read tokens for API consumers; the dashboard public or token-protected by config."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tests.api.conftest import TOKEN, WRITE, make_app

RANKINGS = "/v1/rankings?tier=district&period=2025"


def test_tokens_guard_v1_but_not_health(ch: Client) -> None:
    with TestClient(make_app(ch, api_read_tokens=[TOKEN], api_dashboard_public=False)) as api:
        missing = api.get(RANKINGS)
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = api.get(RANKINGS, headers={"Authorization": "Bearer not-the-right-token-xx"})
        assert wrong.status_code == 403 and wrong.json()["type"] == "/problems/forbidden"
        ok = api.get(RANKINGS, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        for open_path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            assert api.get(open_path).status_code == 200, open_path
        # writes take the header only, and a write token, not a read one
        silence = {"matchers": [{"name": "rule", "value": "r"}], "ends_at": "2030-01-01T00:00:00Z"}
        assert api.post("/v1/silences", json={**silence, "created_by": "t"}).status_code == 401
        read = {"Authorization": f"Bearer {TOKEN}"}
        assert api.post("/v1/silences", json=silence, headers=read).status_code == 403


def test_writes_need_a_write_token_even_when_reads_are_open(ch: Client) -> None:
    silence = {
        "matchers": [{"name": "rule", "value": "r"}],
        "ends_at": "2030-01-01T00:00:00Z",
        "created_by": "t",
    }
    with TestClient(make_app(ch)) as api:
        assert api.get(RANKINGS).status_code == 200
        assert api.post("/v1/silences", json=silence).status_code == 401
        assert api.post("/v1/recompute").status_code == 401
        assert api.delete("/v1/silences/x").status_code == 401
        created = api.post("/v1/silences", json=silence, headers=WRITE)
        assert created.status_code == 201, created.text
        assert api.delete(f"/v1/silences/{created.json()['id']}", headers=WRITE).status_code == 204
    # no write token configured: every write is refused, never open
    with TestClient(make_app(ch, api_write_tokens=[])) as api:
        assert api.post("/v1/silences", json=silence).status_code == 401
        assert api.post("/v1/silences", json=silence, headers=WRITE).status_code == 403


@pytest.mark.parametrize(
    "authorization",
    ["Bearer tökén-ñön-ascii-0123456789", "Bearer", "Basic abc", "Bearer  ", "bearer \x01\x02"],
)
def test_malformed_authorization_is_401_or_403_never_500(ch: Client, authorization: str) -> None:
    header = {"Authorization": authorization.encode("utf-8")}
    with TestClient(make_app(ch, api_read_tokens=[TOKEN], api_dashboard_public=False)) as api:
        assert api.get(RANKINGS, headers=header).status_code in (401, 403)
        assert api.get("/v1/alerts", headers=header).status_code in (401, 403)
        assert api.post("/v1/recompute", headers=header).status_code in (401, 403)


def test_private_dashboard_takes_the_token_once(ch: Client) -> None:
    with TestClient(make_app(ch, api_read_tokens=[TOKEN], api_dashboard_public=False)) as api:
        assert api.get("/dashboard").status_code == 401
        assert api.get("/dashboard?token=wrong-token-0000000000").status_code == 401
        via_root = api.get(f"/?token={TOKEN}", follow_redirects=False)
        assert via_root.headers["location"] == f"/dashboard?token={TOKEN}"
        opened = api.get(f"/dashboard?token={TOKEN}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/dashboard"
        assert "httponly" in opened.headers["set-cookie"].lower()
        # the cookie now opens the page and its reads (EventSource cannot send headers)
        assert api.get("/dashboard").status_code == 200
        assert api.get(RANKINGS).status_code == 200


def test_public_dashboard_reads_through_its_session(ch: Client) -> None:
    with TestClient(make_app(ch, api_read_tokens=[TOKEN], api_dashboard_public=True)) as api:
        assert api.get(RANKINGS).status_code == 401
        page = api.get("/dashboard")
        assert page.status_code == 200 and "Bảng xếp hạng" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert api.get(RANKINGS).status_code == 200


@pytest.mark.parametrize("token", ["changeme", "short"])
def test_placeholder_tokens_are_refused(ch: Client, token: str) -> None:
    with pytest.raises(ValueError):
        make_app(ch, api_read_tokens=[token])


def test_docs_without_a_cdn_and_without_a_token(ch: Client) -> None:
    from tests.offline_docs import assert_docs_served_locally

    with TestClient(make_app(ch, api_read_tokens=[TOKEN], api_dashboard_public=False)) as api:
        assert_docs_served_locally(api)
