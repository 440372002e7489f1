"""The dashboard's reads: units × criteria with rank changes, a criterion's trend, ETags on
scorecards and awards, pages of a ranking."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.api import schemas
from services.api.compare import previous_period
from thidua.contracts.periods import parse_period


def test_previous_period_of_the_same_kind() -> None:
    assert previous_period(parse_period("2025")) == "2024"
    assert previous_period(parse_period("2025-Q1")) == "2024-Q4"
    assert previous_period(parse_period("2025-Q3")) == "2025-Q2"
    assert previous_period(parse_period("phase-2021-2025")) is None
    assert previous_period(parse_period("rolling-30d")) is None


def test_matrix_with_rank_changes(api: TestClient) -> None:
    params = {"tier": "province_agency", "period": "2025"}
    response = api.get("/v1/scorecards", params=params)
    body = schemas.Matrix.model_validate(response.json())
    assert body.previous_period == "2024"
    ids = [c.id for c in body.criteria]
    assert ids[:3] == ["C01", "C02", "C03"]
    rows = {i.unit_id: i for i in body.items}
    assert list(rows) == ["P1", "P2", "P3"]  # P4 is inactive: not ranked
    # 2024 has no data: every active unit shared rank 1
    assert [(i.previous_rank, i.rank_change) for i in body.items] == [(1, 0), (1, -1), (1, -2)]
    c03 = rows["P2"].cells[ids.index("C03")]
    assert (c03.value, c03.met, c03.numerator, c03.denominator) == (0.6, False, 60, 100)
    assert [c.value for c in rows["P3"].cells[:3]] == [None, 1.0, None]  # no data, data
    etag = response.headers["etag"]
    again = api.get("/v1/scorecards", params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304
    k1 = api.get("/v1/scorecards", params={**params, "block": "K1"}).json()
    assert [i["unit_id"] for i in k1["items"]] == ["P1", "P2"]


def test_criterion_trend_by_quarter(api: TestClient) -> None:
    trend = api.get("/v1/units/P2/trend", params={"criterion": "C03"}).json()
    schemas.CriterionTrend.model_validate(trend)
    q1 = next(p for p in trend["points"] if p["period"] == "2025-Q1")
    assert (q1["value"], q1["target"], q1["met"]) == (0.6, 0.8, False)
    assert api.get("/v1/units/P2/trend", params={"criterion": "Z99"}).status_code == 422


def test_etags_on_scorecards_and_awards(api: TestClient) -> None:
    for path, params in (
        ("/v1/units/P1/scorecard", {"period": "2025"}),
        ("/v1/awards", {"period": "2025"}),
    ):
        first = api.get(path, params=params)
        assert first.status_code == 200 and first.headers["etag"].startswith('"')
        cached = api.get(path, params=params, headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304 and cached.content == b""
        changed = api.get(path, params=params, headers={"If-None-Match": '"other"'})
        assert changed.status_code == 200


def test_ranking_pages(api: TestClient) -> None:
    params = {"tier": "province_agency", "period": "2025", "page_size": 2}
    first = api.get("/v1/rankings", params=params).json()
    schemas.Rankings.model_validate(first)
    assert [i["unit_id"] for i in first["items"]] == ["P1", "P2"]
    assert (first["total"], first["page"], first["page_size"]) == (3, 1, 2)
    second = api.get("/v1/rankings", params={**params, "page": 2}).json()
    assert [i["unit_id"] for i in second["items"]] == ["P3"]
    assert api.get("/v1/rankings", params={**params, "page_size": 501}).status_code == 422
