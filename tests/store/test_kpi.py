"""kpi.py against a real chDB: registry at the end, measure sums, scorecards, ranks, storage."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from clickhouse_connect.driver.client import Client

from tests.store.builders import insert_counters, insert_events, unit
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.periods import parse_period
from thidua.contracts.plans import default_plans
from thidua.store import kpi
from thidua.store.periods_index import standard_periods

PLANS = default_plans()


@pytest.fixture
def config() -> CriteriaConfig:
    return PLANS.by_id("phase-2021-2025")


def full_marks(
    unit_id: str, tier: Tier, day: str = "2025-06-15"
) -> list[tuple[str, str, str, float]]:
    """Counters meeting every criterion of ``tier`` (each measure 1 on ``day``)."""
    measures = {m for c in PLANS.plans[0].for_tier(tier) for m in c.measures(tier)}
    return [(unit_id, m, day, 1.0) for m in sorted(measures)]


# --- the registry ---------------------------------------------------------------------------


def test_the_registry_by_day(client: Client) -> None:
    insert_events(client, unit("U1", "2025-01-01", name="Một"))
    insert_events(client, unit("U1", "2025-07-01 00:00", name="Hai"))
    registry = kpi.read_registry(client)
    assert registry.units() == ["U1"]
    assert registry.state("U1", date(2025, 6, 30)).name == "Một"
    assert registry.state("U1", date(2025, 7, 1)).name == "Hai"
    assert registry.state("U1", date(2024, 12, 31)) is None


def test_registry_resend_changes_nothing_and_retries_collapse(client: Client) -> None:
    original = unit("U1", "2025-01-01", name="Gốc", id="same", seq=10)
    resend = unit("U1", "2025-05-01", name="Gửi lại", id="same", seq=20)
    insert_events(client, original, original, resend)  # the first row twice: a writer retry
    assert kpi.read_registry(client).state("U1", date(2025, 12, 31)).name == "Gốc"


def test_registry_equal_time_later_acceptance_wins(client: Client) -> None:
    insert_events(
        client,
        unit("U1", "2025-03-01 08:00", name="Sau", seq=31),
        unit("U1", "2025-03-01 08:00", name="Trước", seq=30),
    )
    assert kpi.read_registry(client).state("U1", date(2025, 12, 31)).name == "Sau"


def test_unit_deactivated_later_still_counts_before(client: Client) -> None:
    insert_events(
        client,
        unit("U1", "2021-01-01", tier="district", block="K1"),
        unit("U1", "2026-02-01", tier="district", active=False),
    )
    registry = kpi.read_registry(client)
    in_2025 = registry.standing("U1", parse_period("2025"))
    assert (in_2025.ranked, in_2025.info.tier, in_2025.info.block) == (True, Tier.DISTRICT, "K1")
    assert in_2025.info.closed_at is None
    assert registry.standing("U1", parse_period("2026")).info.closed_at is not None
    assert registry.standing("U1", parse_period("2027")).ranked is False


# --- measure sums --------------------------------------------------------------------------


def sums(client: Client, *period_ids: str) -> dict[str, dict[str, dict[str, float]]]:
    registry = kpi.read_registry(client)
    periods = [parse_period(p) for p in period_ids]
    standings = {p.id: registry.standings(p) for p in periods}
    return kpi.period_sums(client, registry, periods, standings)


def test_sums_flow_inside_period_stock_up_to_end(client: Client) -> None:
    insert_events(client, unit("U1"))
    insert_counters(
        client,
        ("U1", "dossier_received", "2024-12-31", 1),
        ("U1", "dossier_received", "2025-01-01", 2),
        ("U1", "dossier_received", "2025-12-31", 4),
        ("U1", "dossier_received", "2026-01-01", 8),
        ("U1", "procedure_eligible", "2024-05-01", 3),
        ("U1", "procedure_eligible", "2025-03-01", -1),
        ("U1", "procedure_eligible", "2026-01-01", 5),
    )
    insert_counters(client, ("U1", "dossier_received", "2025-01-01", 16), partition=1)
    found = sums(client, "2025", "2025-Q1")
    assert found["2025"] == {"U1": {"dossier_received": 22.0, "procedure_eligible": 2.0}}
    assert found["2025-Q1"]["U1"] == {"dossier_received": 18.0, "procedure_eligible": 2.0}


def test_sums_read_the_latest_counter_version(client: Client) -> None:
    insert_events(client, unit("U1"))
    insert_counters(client, ("U1", "rating", "2025-02-01", 10), version=7)
    insert_counters(client, ("U1", "rating", "2025-02-01", 4), version=9)
    insert_counters(client, ("U1", "rating", "2025-02-01", 99), version=8)
    assert sums(client, "2025")["2025"]["U1"]["rating"] == 4.0


def test_a_closed_units_data_counts_for_its_successor_from_its_closing(client: Client) -> None:
    """SPEC §7.2: flows by their day, stocks as of the instant evaluated, transitively; the
    closed unit is ranked as of its closing with what it had then."""
    insert_events(
        client,
        unit("H", tier="district"),
        unit("H", "2025-07-01", tier="district", active=False, successor="X"),
        unit("X", "2025-07-01", tier="commune"),
        unit("X", "2026-03-01", tier="commune", active=False, successor="Y"),
        unit("Y", "2026-03-01", tier="commune"),
    )
    insert_counters(
        client,
        ("H", "rating", "2025-06-30", 1), ("H", "rating", "2025-08-03", 2),  # sent late
        ("X", "rating", "2025-08-03", 4), ("H", "rating", "2026-04-01", 8),
        ("H", "civil_servant_active", "2024-01-01", 10),
        ("H", "civil_servant_active", "2025-09-01", -3),  # moved off its roll later
        ("X", "civil_servant_active", "2025-09-01", 3),
    )  # fmt: skip
    found = sums(client, "2025", "2025-Q2", "2025-Q3", "2026")
    assert found["2025"]["H"] == {"rating": 1.0, "civil_servant_active": 10.0}
    assert found["2025"]["X"] == {"rating": 6.0, "civil_servant_active": 10.0}
    assert found["2025-Q2"]["H"] == {"rating": 1.0, "civil_servant_active": 10.0}
    assert "X" not in found["2025-Q2"]  # registered later
    assert found["2025-Q3"]["X"] == {"rating": 6.0, "civil_servant_active": 10.0}
    assert found["2026"]["Y"] == {"rating": 8.0, "civil_servant_active": 10.0}
    assert found["2026"]["X"] == {"civil_servant_active": 10.0}  # as of its closing


# --- compute_period ------------------------------------------------------------------------


def _indicator(
    unit_id: str, criterion: str, num: float, den: float = 1.0
) -> list[tuple[str, str, str, float]]:
    return [
        (unit_id, f"indicator.{criterion}.num", "2025-03-01", num),
        (unit_id, f"indicator.{criterion}.den", "2025-03-01", den),
    ]


def test_competition_ranking_with_ties_rounded_to_six_decimals(
    client: Client, config: CriteriaConfig
) -> None:
    insert_events(client, *(unit(u) for u in ("A", "B", "C", "D")), unit("E", active=False))
    insert_counters(
        client,
        *_indicator("A", "C09", 0.9),
        *_indicator("B", "C09", 0.5),
        *_indicator("C", "C09", 0.5000000001),  # differs from B below the 6th decimal of the score
        *_indicator("D", "C09", 0.4),
        *_indicator("E", "C09", 1.0),
    )
    cards = kpi.compute_period(client, PLANS, parse_period("2025"))
    assert [(c.unit.unit_id, c.rank) for c in cards] == [
        ("A", 1),
        ("B", 2),
        ("C", 2),
        ("D", 4),
        ("E", None),
    ]
    assert cards[1].score != cards[2].score
    assert cards[0].criteria_met == 1 and cards[1].criteria_met == 0
    assert cards[0].score == pytest.approx(100 / 16)


def test_no_data_and_unregistered_units(client: Client, config: CriteriaConfig) -> None:
    insert_events(client, unit("A"), unit("LATE", "2026-03-01"))
    insert_counters(
        client, ("GHOST", "rating", "2025-02-01", 1), ("LATE", "rating", "2025-02-01", 1)
    )
    (card,) = kpi.compute_period(client, PLANS, parse_period("2025"))
    assert card.unit.unit_id == "A" and card.rank == 1
    assert card.score == 0.0 and card.criteria_met == 0
    assert card.no_data == tuple(c.id for c in config.for_tier(Tier.PROVINCE_AGENCY))
    first = card.criteria[0]
    assert (first.value, first.numerator, first.denominator, first.attainment) == (None, 0, 0, 0)


def test_award_eligibility_only_for_years_and_the_phase(
    client: Client, config: CriteriaConfig
) -> None:
    insert_events(client, unit("A"), unit("B"))
    insert_counters(
        client, *full_marks("A", Tier.PROVINCE_AGENCY), *full_marks("B", Tier.PROVINCE_AGENCY)
    )
    insert_counters(client, ("B", "rating", "2025-06-15", 1), partition=1)  # B: C05 at 1/2
    eligible = {
        p: [
            c.unit.unit_id
            for c in kpi.compute_period(client, PLANS, parse_period(p))
            if c.award_eligible
        ]
        for p in ("2025", "phase-2021-2025", "2025-Q2", "2024")
    }
    assert eligible == {"2025": ["A"], "phase-2021-2025": ["A"], "2025-Q2": [], "2024": []}
    year = kpi.scorecards_by_unit(kpi.compute_period(client, PLANS, parse_period("2025")))
    assert year["A"].score == 100.0 and year["A"].criteria_met == year["A"].criteria_total == 16
    assert year["B"].criteria_met == 15 and year["B"].rank == 2


def test_enterprises_ranked_on_e01_e02(client: Client, config: CriteriaConfig) -> None:
    insert_events(
        client,
        unit("DN1", tier="enterprise"),
        unit("DN2", tier="enterprise"),
        unit("X", tier="commune"),
    )
    insert_counters(
        client,
        *_indicator("DN1", "E01", 1), *_indicator("DN1", "E02", 1),
        *_indicator("DN2", "E01", 1), *_indicator("DN2", "E02", 0),
        *_indicator("DN2", "C06", 1),  # outside the enterprise tier: ignored
    )  # fmt: skip
    cards = kpi.compute_period(client, PLANS, parse_period("2025"))
    enterprises = kpi.ranking(cards, Tier.ENTERPRISE)
    assert [(c.unit.unit_id, c.rank, c.score, c.criteria_total) for c in enterprises] == [
        ("DN1", 1, 100.0, 2),
        ("DN2", 2, 50.0, 2),
    ]
    assert [c.unit.unit_id for c in kpi.award_winners(cards)] == ["DN1"]
    assert kpi.ranking(cards, Tier.COMMUNE)[0].rank == 1


def test_ranks_within_block(client: Client, config: CriteriaConfig) -> None:
    insert_events(client, unit("A", block="K1"), unit("B", block="K2"), unit("C", block="K2"))
    insert_counters(client, *_indicator("A", "C09", 0.8), *_indicator("B", "C09", 0.6),
                    *_indicator("C", "C09", 0.7))  # fmt: skip
    cards = kpi.compute_period(client, PLANS, parse_period("2025"))
    assert [c.unit.unit_id for c in kpi.ranking(cards, Tier.PROVINCE_AGENCY, "K2")] == ["C", "B"]
    by_unit = kpi.scorecards_by_unit(cards)
    assert by_unit["B"].rank == 3 and kpi.rank_within_block(cards, by_unit["B"]) == 2


# --- materialize ---------------------------------------------------------------------------


def test_materialize_stores_criteria_and_scores(client: Client, config: CriteriaConfig) -> None:
    insert_events(client, unit("A"), unit("B", active=False))
    insert_counters(client, *full_marks("A", Tier.PROVINCE_AGENCY))
    computed_at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    result = kpi.materialize(client, PLANS, [parse_period("2025")], computed_at)
    assert [c.unit.unit_id for c in result["2025"]] == ["A", "B"]
    rows = kpi.materialized_scores(client, "2025")
    assert [(r["unit_id"], r["rank"], r["award_eligible"], r["score"]) for r in rows] == [
        ("A", 1, 1, 100.0),
        ("B", 0, 0, 0.0),
    ]
    criteria = client.query(
        "SELECT count(), countIf(value IS NULL) FROM kpi_criteria FINAL WHERE period = '2025'"
    ).result_rows[0]
    assert criteria == (32, 16)
    # A later run replaces the period: a unit whose tier changed leaves no stale row.
    insert_events(client, unit("A", "2025-06-01", tier="district"))
    kpi.materialize(client, PLANS, [parse_period("2025")], datetime(2026, 11, 25, 9, 1, tzinfo=UTC))
    assert {(r["unit_id"], r["tier"]) for r in kpi.materialized_scores(client, "2025")} == {
        ("A", "district"),
        ("B", "province_agency"),
    }


def test_one_scan_for_many_periods_equals_one_query_per_period(client: Client) -> None:
    rng = random.Random(7)
    measures = ["rating", "dossier_received", "cbccvc_active", "indicator.C08.num"]
    rows = [
        (f"U{rng.randrange(5)}", rng.choice(measures),
         date(2020, 12, 1) + timedelta(days=rng.randrange(2200)), float(rng.randrange(-3, 9)))
        for _ in range(3000)
    ]  # fmt: skip
    for partition in range(3):
        insert_counters(client, *rows[partition::3], partition=partition)
    insert_events(
        client,
        *(unit(f"U{n}") for n in range(5)),
        unit("U1", "2024-03-05 10:00", active=False, successor="U2"),
        unit("U3", "2025-07-01", active=False),
    )
    periods = standard_periods(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), PLANS)
    ids = [p.id for p in periods]
    many = sums(client, *ids)
    assert many == {p: sums(client, p)[p] for p in ids}
    assert kpi.compute_periods(client, PLANS, periods[:3]) == {
        p.id: kpi.compute_period(client, PLANS, p) for p in periods[:3]
    }
