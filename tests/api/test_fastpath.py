"""The in-memory fast path answers exactly as the FastAPI route does."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import TOKEN, make_app

PARAMS = {"tier": "province_agency", "period": "2025"}


def test_same_bytes_cold_and_hot(app: FastAPI, api: TestClient) -> None:
    service = app.state.service
    assert service.fresh_view("2025-Q1") is None
    cold = api.get("/v1/rankings", params={**PARAMS, "period": "2025-Q1"})  # the route loads it
    assert service.fresh_view("2025-Q1") is not None
    hot = api.get("/v1/rankings", params={**PARAMS, "period": "2025-Q1"})  # the fast path
    assert cold.content == hot.content
    assert hot.headers["content-type"] == "application/json"
    blank = api.get("/v1/rankings", params={**PARAMS, "block": ""})
    assert blank.json() == api.get("/v1/rankings", params=PARAMS).json()
    # anything unusual goes to the route and its validation
    assert api.get("/v1/rankings", params={**PARAMS, "tier": "ministry"}).status_code == 422
    extra = api.get("/v1/rankings", params={**PARAMS, "unknown": "1"})
    assert (
        extra.status_code == 200 and extra.content == api.get("/v1/rankings", params=PARAMS).content
    )


def test_fast_path_keeps_auth(ch: Client) -> None:
    app = make_app(ch, api_read_tokens=[TOKEN])
    with TestClient(app) as api:
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert api.get("/v1/rankings", params=PARAMS, headers=good).status_code == 200
        assert app.state.service.fresh_view("2025") is not None
        assert api.get("/v1/rankings", params=PARAMS).status_code == 401
        bad = {"Authorization": "Bearer wrong-token-wrong-token"}
        assert api.get("/v1/rankings", params=PARAMS, headers=bad).status_code == 403
        assert api.get("/v1/rankings", params=PARAMS, headers=good).status_code == 200


def test_pollers_revalidate_with_etags(app: FastAPI, api: TestClient) -> None:
    first = api.get("/v1/rankings", params=PARAMS)
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "no-cache"
    again = api.get("/v1/rankings", params=PARAMS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # the route answers the same way for a period the fast path does not hold yet
    cold = {**PARAMS, "period": "2022"}
    tag = api.get("/v1/rankings", params=cold).headers["etag"]
    app.state.service.periods.mark_stale("2022")
    assert api.get("/v1/rankings", params=cold, headers={"If-None-Match": tag}).status_code == 304
