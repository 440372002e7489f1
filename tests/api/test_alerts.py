"""Alerts read from ClickHouse, and silences kept by the api."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api import schemas
from tests.api import data


def test_alerts_filters_and_silences(app: FastAPI, api: TestClient, ch: Client) -> None:
    now = datetime.now(UTC)
    data.insert_alert(ch, fingerprint="a1", unit_id="P2", state="firing", updated_at=now)
    data.insert_alert(
        ch, fingerprint="a2", unit_id="D2", criterion="C13", state="resolved", ends_at=now
    )
    app.state.on_refresh(set())  # the writer wrote alerts: reload them
    _wait_for(lambda: len(api.get("/v1/alerts").json()["items"]) >= 2)

    body = schemas.Alerts.model_validate(api.get("/v1/alerts").json())
    assert {a.fingerprint for a in body.items} >= {"a1", "a2"}
    firing = api.get("/v1/alerts", params={"state": "firing", "unit_id": "P2"}).json()["items"]
    assert [a["fingerprint"] for a in firing] == ["a1"]
    assert firing[0]["labels"] == {"tier": "province_agency"} and firing[0]["silenced_by"] == []

    created = api.post(
        "/v1/silences",
        json={
            "matchers": [
                {"name": "unit_id", "value": "P2"},
                {"name": "tier", "value": "province_agency"},
            ],
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "created_by": "so-noi-vu",
            "comment": "đang kiểm tra",
        },
    )
    assert created.status_code == 201, created.text
    silence = schemas.Silence.model_validate(created.json())
    assert silence.status == "active"
    assert silence.id in [s["id"] for s in api.get("/v1/silences").json()["items"]]
    firing = api.get("/v1/alerts", params={"unit_id": "P2"}).json()["items"]
    assert silence.id in firing[0]["silenced_by"]
    d2 = api.get("/v1/alerts", params={"unit_id": "D2"}).json()["items"][0]
    assert silence.id not in d2["silenced_by"]

    # silences survive a restart: they live in ClickHouse
    rows = ch.query("SELECT id FROM silences FINAL WHERE deleted = 0").result_rows
    assert (silence.id,) in rows

    assert api.delete(f"/v1/silences/{silence.id}").status_code == 204
    assert silence.id not in [s["id"] for s in api.get("/v1/silences").json()["items"]]
    gone = api.delete(f"/v1/silences/{silence.id}")
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    assert (silence.id,) not in ch.query(
        "SELECT id FROM silences FINAL WHERE deleted = 0"
    ).result_rows


def test_silence_validation_is_a_problem(api: TestClient) -> None:
    bad = api.post("/v1/silences", json={"matchers": [], "ends_at": "2025-01-01T00:00:00"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} >= {
        ("body", "matchers"),
        ("body", "created_by"),
    }
    backwards = api.post(
        "/v1/silences",
        json={
            "matchers": [{"name": "rule", "value": "x"}],
            "starts_at": "2025-02-01T00:00:00+07:00",
            "ends_at": "2025-01-01T00:00:00+07:00",
            "created_by": "x",
        },
    )
    assert backwards.status_code == 422


def _wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_alerts_page_filter_count_and_carry_unit_names(
    app: FastAPI, api: TestClient, ch: Client
) -> None:
    now = datetime.now(UTC)
    units = ["P1", "P2", "P3", "D1", "X1"]
    for n in range(25):
        data.insert_alert(
            ch,
            fingerprint=f"page|{n:02d}",
            rule="paging_rule" if n % 5 else "other_rule",
            unit_id=units[n % 5],
            criterion="C05",
            severity=("info", "warning", "critical")[n % 3],
            updated_at=now - timedelta(minutes=n // 2),  # pairs share a time: ties by fingerprint
        )
    app.state.on_refresh(set())
    _wait_for(lambda: api.get("/v1/alerts", params={"rule": "paging_rule"}).json()["total"] == 20)

    first = api.get("/v1/alerts", params={"rule": "paging_rule", "limit": 7}).json()
    schemas.Alerts.model_validate(first)
    assert first["total"] == 20 and len(first["items"]) == 7
    assert first["counts"]["rule"] == {"paging_rule": 20}
    assert sum(first["counts"]["severity"].values()) == 20
    seen = [a["fingerprint"] for a in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        more = api.get(
            "/v1/alerts", params={"rule": "paging_rule", "limit": 7, "cursor": cursor}
        ).json()
        seen += [a["fingerprint"] for a in more["items"]]
        cursor = more["next_cursor"]
    expected = [f"page|{n:02d}" for n in range(25) if n % 5]
    assert seen == expected  # newest first, ties by fingerprint, each exactly once

    third = api.get("/v1/alerts", params={"rule": "paging_rule", "page": 3, "page_size": 7})
    assert [a["fingerprint"] for a in third.json()["items"]] == expected[14:21]
    assert third.json()["page"] == 3 and third.json()["page_size"] == 7

    p2 = api.get("/v1/alerts", params={"rule": "paging_rule", "unit_id": "P2"}).json()["items"]
    assert {a["unit_name"] for a in p2} == {"Sở Nội vụ"} and p2[0]["tier"] == "province_agency"
    k1 = api.get("/v1/alerts", params={"rule": "paging_rule", "block": "K1"}).json()
    assert {a["unit_id"] for a in k1["items"]} == {"P2"}  # P1's alerts are other_rule (n % 5 == 0)
    communes = api.get(
        "/v1/alerts", params={"tier": "commune", "severity": "critical", "rule": "paging_rule"}
    ).json()
    assert communes["items"] and all(
        a["unit_id"] == "X1" and a["severity"] == "critical" for a in communes["items"]
    )
    assert api.get("/v1/alerts", params={"limit": 501}).status_code == 422
    bad = api.get("/v1/alerts", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["type"].endswith("invalid-cursor")


def test_silences_are_capped_and_parsed_once(ch: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.api import alerts as alerts_module
    from tests.api.conftest import WRITE, make_app

    body = {
        "matchers": [{"name": "state", "value": "firing"}],
        "ends_at": "2100-01-01T00:00:00+07:00",
        "created_by": "t",
    }
    with TestClient(make_app(ch, api_max_silences=2), headers=WRITE) as api:
        for existing in api.get("/v1/silences").json()["items"]:
            api.delete(f"/v1/silences/{existing['id']}")
        made = [api.post("/v1/silences", json=body) for _ in range(2)]
        assert [m.status_code for m in made] == [201, 201]
        refused = api.post("/v1/silences", json=body)
        assert refused.status_code == 409
        assert refused.json()["type"] == "/problems/too-many-silences"
        parsed = []
        original = alerts_module._bounds
        monkeypatch.setattr(alerts_module, "_bounds", lambda s: parsed.append(s) or original(s))
        for _ in range(3):
            assert api.get("/v1/alerts").status_code == 200
        assert parsed == []  # dates were parsed when the silences were made, not per call
        for m in made:
            assert api.delete(f"/v1/silences/{m.json()['id']}").status_code == 204
        again = api.post("/v1/silences", json=body)
        assert again.status_code == 201
        assert api.delete(f"/v1/silences/{again.json()['id']}").status_code == 204
