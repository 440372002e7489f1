"""Every SPEC §5 endpoint, read on real chDB data, checked against its response model."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from services.api import schemas
from services.api.app import create_app
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.settings import ApiSettings

PROBLEM = "application/problem+json"


def _offset_is_local(text: str) -> None:
    assert datetime.fromisoformat(text).utcoffset() == timedelta(hours=7)


def test_rankings_of_a_tier(api: TestClient) -> None:
    response = api.get("/v1/rankings", params={"tier": "province_agency", "period": "2025"})
    assert response.status_code == 200
    body = schemas.Rankings.model_validate(response.json())
    assert (body.tier, body.period, body.block) == (Tier.PROVINCE_AGENCY, "2025", None)
    _offset_is_local(response.json()["generated_at"])
    assert [(i.rank, i.unit_id) for i in body.items] == [(1, "P1"), (2, "P2"), (3, "P3")]
    first = body.items[0]
    assert first.score == 100.0 and first.criteria_met == first.criteria_total == 16
    assert body.items[1].score == pytest.approx(100 * (15 + 0.6 / 0.8) / 16)
    # C15 shares its denominator (active CBCCVC) with C16, so it is not without data
    assert body.items[2].no_data == ["C01", "C03", "C05", "C07", "C09", "C11", "C13"]


def test_rankings_within_a_block_rerank(api: TestClient) -> None:
    k2 = api.get(
        "/v1/rankings", params={"tier": "province_agency", "period": "2025", "block": "K2"}
    )
    assert [(i["rank"], i["unit_id"]) for i in k2.json()["items"]] == [(1, "P3")]
    assert k2.json()["block"] == "K2"


def test_enterprises_ranked_on_their_two_criteria(api: TestClient) -> None:
    body = api.get("/v1/rankings", params={"tier": "enterprise", "period": "2025"}).json()
    assert [(i["unit_id"], i["score"], i["criteria_total"]) for i in body["items"]] == [
        ("E1", 100.0, 2),
        ("E2", 50.0, 2),
    ]


def test_scorecard_with_evidence(api: TestClient, config: CriteriaConfig) -> None:
    response = api.get("/v1/units/P2/scorecard", params={"period": "2025"})
    assert response.status_code == 200
    card = schemas.ScorecardOut.model_validate(response.json())
    assert (card.unit_id, card.tier, card.rank, card.criteria_met) == (
        "P2",
        "province_agency",
        2,
        15,
    )
    c03 = next(c for c in card.criteria if c.id == "C03")
    assert (c03.numerator, c03.denominator, c03.value, c03.target) == (60, 100, 0.6, 0.8)
    assert c03.met is False and c03.attainment == pytest.approx(0.75)
    assert c03.label == config.by_id("C03").label
    assert [(m.id, m.reason, m.numerator_needed) for m in card.missing_for_award] == [
        ("C03", "below_target", 20)
    ]
    assert card.award_eligible is False and card.awardable_period is True


def test_scorecard_of_an_inactive_unit_answers_without_rank(api: TestClient) -> None:
    card = api.get("/v1/units/P4/scorecard", params={"period": "2025"}).json()
    assert card["rank"] is None and card["active"] is False and card["score"] == 100.0


def test_scorecard_no_data_listed(api: TestClient) -> None:
    card = api.get("/v1/units/P3/scorecard", params={"period": "2025"}).json()
    missing = {m["id"]: m for m in card["missing_for_award"]}
    assert missing["C01"]["reason"] == "no_data" and missing["C01"]["numerator_needed"] is None
    assert card["no_data"][0] == "C01"


def test_unknown_unit_is_404_problem(api: TestClient) -> None:
    response = api.get("/v1/units/NOPE/scorecard", params={"period": "2025"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    problem = schemas.Problem.model_validate(response.json())
    assert problem.type == "/problems/unit-not-found" and problem.status == 404
    assert problem.instance == "/v1/units/NOPE/scorecard?period=2025"
    assert api.get(problem.type).status_code == 200  # the type URI resolves


@pytest.mark.parametrize(
    ("path", "params", "slug"),
    [
        ("/v1/rankings", {"tier": "province_agency", "period": "2025-Q5"}, "unknown-period"),
        ("/v1/rankings", {"tier": "ministry", "period": "2025"}, "invalid-request"),
        ("/v1/rankings", {"period": "2025"}, "invalid-request"),
        ("/v1/units/P1/scorecard", {"period": "last-year"}, "unknown-period"),
        ("/v1/awards", {"period": "2025-Q3"}, "not-awardable"),
        ("/v1/awards", {"period": "rolling-30d"}, "not-awardable"),
        ("/v1/alerts", {"state": "sleeping"}, "invalid-request"),
        ("/v1/exports/rankings.pdf", {"tier": "district", "period": "2025"}, "invalid-request"),
        # SPEC §7.1: periods outside every plan, everywhere
        ("/v1/rankings", {"tier": "province_agency", "period": "2019"}, "unknown-period"),
        ("/v1/rankings", {"tier": "province_agency", "period": "2031"}, "unknown-period"),
        ("/v1/rankings", {"tier": "commune", "period": "phase-2019-2020"}, "unknown-period"),
        ("/v1/rankings", {"tier": "commune", "period": "phase-2021-2023"}, "unknown-period"),
        ("/v1/units/P1/scorecard", {"period": "2031-Q1"}, "unknown-period"),
        ("/v1/awards", {"period": "2020"}, "unknown-period"),
        ("/v1/blocks", {"tier": "district", "period": "2031"}, "unknown-period"),
        ("/v1/exports/rankings.csv", {"tier": "district", "period": "2031"}, "unknown-period"),
        ("/v1/exports/scorecards.xlsx", {"period": "2019"}, "unknown-period"),
        ("/v1/stream/rankings", {"tier": "district", "period": "2031"}, "unknown-period"),
    ],
)
def test_invalid_requests_are_422_problems(
    api: TestClient, path: str, params: dict[str, str], slug: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == 422
    assert body["title"] and body["detail"] and body["instance"].startswith(path)


@pytest.mark.parametrize(
    ("period", "plan_id", "provisional", "final"),
    [
        ("2025", "phase-2021-2025", False, True),
        ("phase-2021-2025", "phase-2021-2025", False, True),
        ("2026", "phase-2026-2030", True, False),
        ("2026-Q1", "phase-2026-2030", True, True),
        ("phase-2026-2030", "phase-2026-2030", True, False),
        ("rolling-30d", "phase-2026-2030", True, False),
    ],
)
def test_every_answer_names_its_plan_and_whether_it_is_final(
    api: TestClient, period: str, plan_id: str, provisional: bool, final: bool
) -> None:
    """SPEC §7.1 (the tests run in December 2026: 2026 is still tạm tính)."""
    note = "Tạm áp dụng chỉ tiêu năm 2025 cho đến khi có chỉ tiêu giai đoạn 2"
    answers = [
        api.get("/v1/rankings", params={"tier": "province_agency", "period": period}).json(),
        api.get("/v1/units/P1/scorecard", params={"period": period}).json(),
    ]
    if period != "rolling-30d" and "Q" not in period:
        answers.append(api.get("/v1/awards", params={"period": period}).json())
    for body in answers:
        assert (body["plan_id"], body["plan_provisional"], body["final"]) == (
            plan_id, provisional, final,
        )  # fmt: skip
        assert body["plan_note"] == (note if provisional else None)
    exported = api.get("/v1/exports/rankings.csv", params={"tier": "district", "period": period})
    assert exported.headers["x-thidua-plan-id"] == plan_id
    assert exported.headers["x-thidua-final"] == str(final).lower()


def test_awards_are_the_eligible_units(api: TestClient) -> None:
    body = schemas.Awards.model_validate(api.get("/v1/awards", params={"period": "2025"}).json())
    assert [(i.unit_id, i.tier) for i in body.items] == [
        ("P1", "province_agency"),
        ("D1", "district"),
        ("X1", "commune"),
        ("E1", "enterprise"),
    ]
    assert body.award == "Bằng khen Chủ tịch UBND tỉnh"
    only = api.get("/v1/awards", params={"period": "phase-2021-2025", "tier": "enterprise"}).json()
    assert [i["unit_id"] for i in only["items"]] == ["E1"] and only["tier"] == "enterprise"


def test_trend_has_every_quarter_since_the_phase(api: TestClient) -> None:
    response = api.get("/v1/units/D2/trend")
    assert response.status_code == 200
    trend = schemas.Trend.model_validate(response.json())
    by_period = {p.period: p for p in trend.points}
    assert trend.points[0].period == "2021-Q1"
    assert by_period["2024-Q4"].score == 0.0  # registered, nothing counted yet
    assert by_period["2025-Q1"].criteria_met == 16  # all but C13 (50% < 80%)
    # flows (C05, C11–C14) count inside their quarter only: 2025-Q2 has none of them
    assert by_period["2025-Q2"].criteria_met == 12
    assert api.get("/v1/units/NOPE/trend").status_code == 404


def test_catalog_and_blocks(api: TestClient) -> None:
    catalog = schemas.Catalog.model_validate(api.get("/v1/catalog").json())
    assert [t.label for t in catalog.tiers][:3] == [
        "Sở, ban, ngành cấp tỉnh",
        "UBND huyện, thành phố",
        "UBND xã, phường, thị trấn",
    ]
    periods = {p.id: p for p in catalog.periods}
    assert periods["2025"].plan_id == "phase-2021-2025" and periods["2025"].final
    assert periods["2025"].started and not periods["2025"].plan_provisional
    assert periods["2026"].plan_id == "phase-2026-2030" and periods["2026"].plan_provisional
    assert not periods["2030"].started and not periods["2030"].final
    assert periods["rolling-30d"].plan_id == "phase-2026-2030"
    assert [p.id for p in catalog.periods][:2] == ["rolling-30d", "2026"]
    assert {t.id.value for t in periods["2025"].tiers} == {
        "province_agency", "district", "commune", "enterprise",
    }  # fmt: skip
    assert [p.plan_id for p in catalog.plans] == ["phase-2021-2025", "phase-2026-2030"]
    assert catalog.phase == "phase-2026-2030"
    blocks = api.get("/v1/blocks", params={"tier": "province_agency", "period": "2025"}).json()
    assert blocks["blocks"] == ["K1", "K2"]


def test_health_ready_metrics(api: TestClient) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"clickhouse": "ok"}
    api.get("/v1/rankings", params={"tier": "district", "period": "2025"})
    text = api.get("/metrics").text
    assert (
        'thidua_api_request_seconds_count{method="GET",route="/v1/rankings",status="200"}' in text
    )
    assert "thidua_api_cache_requests_total" in text and "thidua_api_sse_clients" in text


def test_openapi_documents_every_endpoint_with_examples(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/v1/rankings",
        "/v1/units/{unit_id}/scorecard",
        "/v1/awards",
        "/v1/alerts",
        "/v1/silences",
        "/v1/stream/rankings",
        "/v1/exports/rankings.{fmt}",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    schemas_ = doc["components"]["schemas"]
    for name in ("Rankings", "ScorecardOut", "Awards", "Alerts", "Problem"):
        assert schemas_[name].get("examples"), name
    bad = paths["/v1/rankings"]["get"]["responses"]["422"]["content"]
    assert list(bad) == [PROBLEM]
    assert "HTTPValidationError" not in schemas_


def test_a_failing_read_is_a_problem_too(ch: Client) -> None:
    def broken(*_: object) -> list[object]:
        raise ConnectionError("ClickHouse is away")

    app = create_app(
        ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False),
        ch,
        compute=broken,  # type: ignore[arg-type]
        warm=False,
    )
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get("/v1/rankings", params={"tier": "district", "period": "2025"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/unavailable"
