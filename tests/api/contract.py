"""Every SPEC §5 endpoint checked against its response model, on any running api — reusable by
the end-to-end suite on data that went through ingest → scoring → writer:
``assert_contract(httpx.Client(base_url=api_url), period="2025", tier="commune", unit_id=…)``."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import httpx
from openpyxl import load_workbook

from services.api import schemas
from tests.api.sse_client import events

PROBLEM = "application/problem+json"


def _local(text: str) -> None:
    assert datetime.fromisoformat(text).utcoffset() == timedelta(hours=7), text


def assert_contract(http: httpx.Client, *, period: str, tier: str, unit_id: str) -> None:
    """``unit_id`` must be a ranked unit of ``tier`` in ``period`` (a year or the phase)."""
    params = {"tier": tier, "period": period}
    rankings = schemas.Rankings.model_validate(_ok(http.get("/v1/rankings", params=params)))
    _local(http.get("/v1/rankings", params=params).json()["generated_at"])
    ranked = {item.unit_id: item for item in rankings.items}
    assert unit_id in ranked, f"{unit_id} is not ranked in {tier}/{period}"
    ranks = [item.rank for item in rankings.items]
    assert ranks == sorted(ranks) and ranks[0] == 1

    card = schemas.ScorecardOut.model_validate(
        _ok(http.get(f"/v1/units/{unit_id}/scorecard", params={"period": period}))
    )
    assert (card.rank, card.score) == (ranked[unit_id].rank, ranked[unit_id].score)
    assert card.criteria_met == sum(c.met for c in card.criteria)
    for c in card.criteria:
        assert 0 <= c.attainment <= 1 and (c.value is None) == (c.denominator == 0)

    awards = schemas.Awards.model_validate(_ok(http.get("/v1/awards", params=params)))
    assert all(a.criteria_met == a.criteria_total for a in awards.items)
    schemas.Trend.model_validate(_ok(http.get(f"/v1/units/{unit_id}/trend")))
    schemas.Alerts.model_validate(_ok(http.get("/v1/alerts")))
    schemas.Silences.model_validate(_ok(http.get("/v1/silences")))
    schemas.Catalog.model_validate(_ok(http.get("/v1/catalog")))
    schemas.Blocks.model_validate(_ok(http.get("/v1/blocks", params=params)))

    exported = http.get("/v1/exports/rankings.csv", params=params)
    rows = list(csv.reader(io.StringIO(_bytes(exported).decode("utf-8-sig"))))
    assert rows[0][0] == "Hạng", rows[0]
    assert [r[1] for r in rows[1:]] == list(ranked), (rows, list(ranked))
    sheet = load_workbook(
        io.BytesIO(_bytes(http.get("/v1/exports/scorecards.xlsx", params=params)))
    )
    assert next(sheet.active.iter_rows(values_only=True))[0] == "Mã đơn vị"

    with http.stream("GET", "/v1/stream/rankings", params=params) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name, payload = next(events(stream))
        assert name == "rankings"
        assert schemas.Rankings.model_validate(json.loads(payload)).period == period

    for path, query, status in (
        (f"/v1/units/{unit_id}-unknown/scorecard", {"period": period}, 404),
        ("/v1/rankings", {"tier": tier, "period": "2025-Q9"}, 422),
        ("/v1/awards", {"period": "rolling-30d"}, 422),
    ):
        problem = http.get(path, params=query)
        assert problem.status_code == status and problem.headers["content-type"] == PROBLEM
        schemas.Problem.model_validate(problem.json())
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert http.get(path).status_code == 200, path


def _ok(response: httpx.Response) -> object:
    assert response.status_code == 200, f"{response.request.url}: {response.text[:300]}"
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _bytes(response: httpx.Response) -> bytes:
    assert response.status_code == 200, f"{response.request.url}: {response.text[:300]}"
    return response.content
