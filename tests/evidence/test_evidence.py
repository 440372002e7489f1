"""The drill-down (GET /v1/units/{id}/evidence) lists exactly what the scorecard counted: on
the simulated province's units (late events, corrections, resends) plus hand-made edge cases,
for every criterion of every tier — flows, stocks, staff and trainings, indicators, booleans —
its numerator and denominator equal the scorecard's, and the pages add up to them.

Its own package: chDB opens one path per process, and these units must not join the api
tests' province."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.scoring.processors import fold
from services.writer.rows import EVENTS_RAW, KPI_COUNTERS, event_row
from tests.store.builders import event, unit
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.plans import default_plans
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate
from tools.simulate.generator import generate
from tools.simulate.registry import default_registry

E = EventType
INDICATORS = default_plans().indicator_ids()
# Departments and a district that close in 2025 with their successors (SPEC §7.2: their data
# counts for the successor once closed), and a commune
UNITS = ("tq-so-noi-vu", "tq-so-ldtbxh", "tq-huyen-024", "tq-xa-00694", "tq-xa-00691")


def edge_cases() -> list[CanonicalEvent]:
    """Corrections, a resend, a move between units, items outside the period."""
    d = {"unit_id": "EV", "procedure_id": "PR1"}
    staff = {"unit_id": "EV", "category": "civil_servant", "digital_id": True, "active": True}
    return [
        unit("EV", "2021-01-01", name="Đơn vị thử"),
        unit("EV2", "2021-01-01", name="Đơn vị khác"),
        # a dossier corrected from partial to full (2 versions), another corrected to a later
        # time in 2026 (its winning version leaves 2025), one moved to EV2 by its correction
        event(
            E.DOSSIER_RECEIVED, "2025-03-01", {**d, "dossier_id": "A", "channel": "online_partial"}
        ),
        event(E.DOSSIER_RECEIVED, "2025-03-02", {**d, "dossier_id": "A", "channel": "online_full"}),
        event(E.DOSSIER_RECEIVED, "2025-05-01", {**d, "dossier_id": "B", "channel": "direct"}),
        event(E.DOSSIER_RECEIVED, "2026-01-03", {**d, "dossier_id": "B", "channel": "direct"}),
        event(E.DOSSIER_RECEIVED, "2025-06-01", {**d, "dossier_id": "C", "channel": "postal"}),
        event(
            E.DOSSIER_RECEIVED,
            "2025-06-02",
            {**d, "unit_id": "EV2", "dossier_id": "C", "channel": "postal"},
        ),
        # a resend of D with a different time: the first acceptance is the event
        event(
            E.DOSSIER_RECEIVED,
            "2025-07-01",
            {**d, "dossier_id": "D", "channel": "online_full"},
            id="resent",
        ),
        event(
            E.DOSSIER_RECEIVED,
            "2024-07-01",
            {**d, "dossier_id": "D", "channel": "online_partial"},
            id="resent",
        ),
        event(
            E.DOCUMENT_SENT,
            "2025-02-01",
            {
                "document_id": "S1",
                "from_unit": "EV",
                "to_units": ["EV2"],
                "electronic": True,
                "digitally_signed": True,
                "confidential": False,
            },
        ),
        event(
            E.DOCUMENT_SENT,
            "2025-02-01",
            {
                "document_id": "S2",
                "from_unit": "EV",
                "to_units": ["EV2"],
                "electronic": True,
                "digitally_signed": True,
                "confidential": True,
            },
        ),
        event(
            E.WORKFILE_CLOSED,
            "2025-02-01",
            {
                "workfile_id": "W1",
                "unit_id": "EV",
                "online": True,
                "digitally_signed": False,
                "secret": False,
            },
        ),
        event(
            E.WORKFILE_CLOSED,
            "2025-02-01",
            {
                "workfile_id": "W2",
                "unit_id": "EV",
                "online": True,
                "digitally_signed": True,
                "secret": True,
            },
        ),
        # staff: one moved away at the end of 2025, one trained only after the period
        event(E.STAFF_UPSERTED, "2022-01-01", {**staff, "staff_id": "S1"}),
        event(E.STAFF_UPSERTED, "2022-01-01", {**staff, "staff_id": "S2", "digital_id": False}),
        event(
            E.STAFF_UPSERTED, "2025-12-31T23:00:00", {**staff, "staff_id": "S2", "unit_id": "EV2"}
        ),
        event(
            E.STAFF_UPSERTED,
            "2022-01-01",
            {**staff, "staff_id": "S3", "category": "public_employee"},
        ),
        event(
            E.TRAINING_COMPLETED,
            "2023-01-01",
            {"staff_id": "S1", "program": "basic_digital_skills"},
        ),
        event(
            E.TRAINING_COMPLETED,
            "2026-01-02",
            {"staff_id": "S3", "program": "basic_digital_skills"},
        ),
        event(
            E.PROCEDURE_UPSERTED,
            "2022-01-01",
            {
                "procedure_id": "PR1",
                "unit_id": "EV",
                "full_online_eligible": True,
                "full_online": True,
                "mobile": False,
            },
        ),
        event(
            E.INDICATOR_OBSERVED,
            "2024-01-01",
            {"unit_id": "EV", "indicator": "C08", "numerator": 3, "denominator": 4},
        ),
        event(
            E.INDICATOR_OBSERVED,
            "2025-06-01",
            {"unit_id": "EV", "indicator": "C08", "numerator": 4, "denominator": 4},
        ),
        event(
            E.INDICATOR_OBSERVED,
            "2026-02-01",
            {"unit_id": "EV", "indicator": "C08", "numerator": 1, "denominator": 4},
        ),
        event(
            E.INDICATOR_OBSERVED,
            "2025-06-01",
            {"unit_id": "EV", "indicator": "C07", "numerator": 1, "denominator": 1},
        ),
    ]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    plans = default_plans()
    registry = [u for u in default_registry() if u.unit_id in UNITS]
    simulated = generate(
        seed=154, start=date(2025, 1, 1), end=date(2026, 1, 1), scale=0.2, units=registry
    )
    events = [
        CanonicalEvent.model_validate({**e, "seq": 10_000_000 + n}) for n, e in enumerate(simulated)
    ] + edge_cases()
    client = get_client(f"chdb://{tmp_path_factory.mktemp('evidence') / 'chdb'}")
    migrate(client, progress=lambda _: None)
    client.insert(
        EVENTS_RAW.table, [event_row(e) for e in events], column_names=list(EVENTS_RAW.columns)
    )
    # the scoring processors see each (source, id) once, in acceptance order, as ingest does
    first: dict[tuple[str, str], CanonicalEvent] = {}
    for e in sorted(events, key=lambda e: e.seq):
        first.setdefault((e.source, e.id), e)
    counters = fold(
        sorted(first.values(), key=lambda e: e.seq), indicator_ids=plans.indicator_ids()
    )
    rows = [[u, m, date.fromisoformat(str(d)), 0, float(v), 1] for (u, m, d), v in counters.items()]
    client.insert(KPI_COUNTERS.table, rows, column_names=list(KPI_COUNTERS.columns))
    settings = ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False)  # type: ignore[call-arg]
    with TestClient(create_app(settings, client, warm=False)) as test_client:
        yield test_client
    client.close()


@pytest.mark.parametrize("period", ["2025", "2025-Q3"])
@pytest.mark.parametrize("unit_id", [*UNITS, "EV"])
def test_evidence_agrees_with_the_scorecard_on_every_criterion(
    api: TestClient, unit_id: str, period: str
) -> None:
    card = api.get(f"/v1/units/{unit_id}/scorecard", params={"period": period}).json()
    assert card["criteria"], card
    counted = 0
    for criterion in card["criteria"]:
        params = {"period": period, "criterion": criterion["id"], "page_size": 500}
        page = api.get(f"/v1/units/{unit_id}/evidence", params=params).json()
        key = (unit_id, period, criterion["id"])
        assert page["numerator"] == criterion["numerator"], key
        assert page["denominator"] == criterion["denominator"], key
        assert page["scorecard"] == {
            "numerator": criterion["numerator"],
            "denominator": criterion["denominator"],
        }, key
        items = page["items"]
        if criterion["id"] in INDICATORS:  # observations (a successor's own and its merged
            # units'), adding their figures
            assert bool(items) == bool(criterion["denominator"]), key
        else:  # entities, counting one each
            assert page["total"] == len(items) <= 500
            assert sum(i["in_numerator"] for i in items) == criterion["numerator"], key
            assert sum(i["in_denominator"] for i in items) == criterion["denominator"], key
            assert len({i["id"] for i in items}) == len(items), key
            counted += len(items)
    if unit_id != "EV" and period == "2025":
        assert counted > 0


def test_edge_cases_are_listed_as_counted(api: TestClient) -> None:
    params = {"period": "2025", "criterion": "C03"}
    page = api.get("/v1/units/EV/evidence", params=params).json()
    by_id = {i["id"]: i for i in page["items"]}
    assert set(by_id) == {"A", "D"}  # B won in 2026, C moved to EV2
    assert by_id["A"]["versions"] == 2 and by_id["A"]["superseded"] == 1
    assert by_id["A"]["fields"]["channel"] == "online_full" and by_id["A"]["in_numerator"]
    assert by_id["D"]["versions"] == 1 and by_id["D"]["time"] == "2025-07-01T00:00:00+07:00"
    not_full = api.get("/v1/units/EV/evidence", params={**params, "part": "denominator_only"})
    assert not_full.json()["total"] == 0
    c11 = api.get("/v1/units/EV/evidence", params={**params, "criterion": "C11"}).json()
    assert [i["id"] for i in c11["items"]] == ["S1"]  # the confidential one is in neither
    c15 = api.get("/v1/units/EV/evidence", params={**params, "criterion": "C15"}).json()
    assert {i["id"]: i["fields"]["trained"] for i in c15["items"]} == {
        "S1": ["basic_digital_skills"],
        "S3": [],  # S2 left; S3 trained after the period
    }
    c08 = api.get("/v1/units/EV/evidence", params={**params, "criterion": "C08"}).json()
    assert (c08["numerator"], c08["denominator"]) == (4, 4)
    assert c08["items"][0]["versions"] == 2  # the 2026 observation is after the period's end
    csv_text = api.get("/v1/units/EV/evidence.csv", params=params).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0][:3] == ["Mã", "Thời điểm", "Nguồn"] and len(rows) == 3
    assert (
        api.get("/v1/units/EV/evidence", params={**params, "criterion": "C19"}).status_code == 422
    )
    assert api.get("/v1/units/nope/evidence", params=params).status_code == 404


def test_a_closed_units_items_count_for_its_successor(api: TestClient) -> None:
    """tq-so-ldtbxh merged into tq-so-noi-vu on 2025-03-01: what its sources still send, and
    its staff on the roll at the end, are listed under the successor, named as theirs."""
    card = api.get("/v1/units/tq-so-noi-vu/scorecard", params={"period": "2025"}).json()
    inherited = []
    for criterion in card["criteria"]:
        params = {"period": "2025", "criterion": criterion["id"], "page_size": 500}
        page = api.get("/v1/units/tq-so-noi-vu/evidence", params=params).json()
        inherited += [
            (criterion["id"], i["id"]) for i in page["items"] if i["unit_id"] == "tq-so-ldtbxh"
        ]
    assert inherited
    closed = api.get("/v1/units/tq-so-ldtbxh/scorecard", params={"period": "2025"}).json()
    assert closed["closed_at"].startswith("2025-03-01")
