"""SPEC §7.1/§7.2 on one reform province through chDB: the streaming read (the processors'
counters in kpi_counters) and the batch recompute (raw events, SQL) agree, whatever the order
the events were accepted in (registry after the events included), and say what §7.2 says."""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from clickhouse_connect.driver.client import Client

from services.scoring.processors import fold
from tests.store.builders import insert_counters, insert_events
from tests.store.reform import PERIODS, activity, reform_province, registry
from thidua.contracts.events import CanonicalEvent, Tier
from thidua.contracts.periods import LOCAL_TZ, parse_period
from thidua.contracts.plans import DEFAULT_PLANS_DIR, default_plans, load_plans
from thidua.contracts.scorecard import Scorecard
from thidua.store import kpi
from thidua.store.periods_index import standard_periods
from thidua.store.recompute import compare_report
from tools.simulate.generator import generate

PLANS = default_plans()


def accepted(events: list[CanonicalEvent]) -> list[CanonicalEvent]:
    """``events`` as ingest would have accepted them in this order (seq = arrival)."""
    return [e.model_copy(update={"seq": n}) for n, e in enumerate(events, start=1)]


def load(client: Client, events: list[CanonicalEvent]) -> None:
    insert_events(client, *events)
    counters = fold(events, indicator_ids=PLANS.indicator_ids())
    rows = [(u, m, d, float(v)) for (u, m, d), v in counters.items()]
    for partition in range(3):
        insert_counters(client, *rows[partition::3], partition=partition)


def results(client: Client) -> dict[str, list[Scorecard]]:
    return kpi.compute_periods(client, PLANS, [parse_period(p) for p in PERIODS])


def card(cards: list[Scorecard], unit_id: str) -> Scorecard:
    return next(c for c in cards if c.unit.unit_id == unit_id)


def value(c: Scorecard, criterion: str) -> tuple[float, float]:
    result = next(r for r in c.criteria if r.id == criterion)
    return result.numerator, result.denominator


@pytest.fixture
def reformed(client: Client) -> dict[str, list[Scorecard]]:
    load(client, accepted(reform_province()))
    report = compare_report(client, PLANS, [parse_period(p) for p in PERIODS])
    assert {p: len(d) for p, (_, d) in report.items()} == dict.fromkeys(PERIODS, 0)
    assert all(units > 0 for units, _ in report.values())
    return results(client)


def test_districts_closed_in_2025_are_ranked_as_of_their_closing(
    reformed: dict[str, list[Scorecard]],
) -> None:
    year = reformed["2025"]
    h1 = card(year, "H1")
    assert h1.rank is not None and not h1.award_eligible
    assert h1.unit.closed_at is not None and h1.unit.closed_at.astimezone(LOCAL_TZ).isoformat() == (
        "2025-07-01T00:00:00+07:00"
    )
    assert h1.unit.successor_id == "X1" and h1.unit.name == "UBND thành phố Một"
    assert value(h1, "C05") == (1, 1)  # D2's rating went to X1
    assert value(h1, "C04") == (1, 2)  # its roll as of its closing
    assert value(h1, "C13") == (1, 1)  # W2 after the closing went to X1
    assert value(h1, "C17") == (8, 10)
    x1 = card(year, "X1")
    assert x1.unit.closed_at is None and x1.unit.tier is Tier.COMMUNE
    assert value(x1, "C05") == (0, 1)  # D2's rating, sent under H1 after the closing
    assert value(x1, "C04") == (1, 2)  # T1 still on H1's roll + T2 moved in
    assert value(x1, "C13") == (1, 1)  # a commune counts online (not online ∧ signed)
    assert value(x1, "C17") == (13, 20)  # H1's indicator as of 2025's end + its own
    assert {c.unit.unit_id for c in year if c.unit.tier is Tier.DISTRICT and c.rank} == {
        "H1", "H2",
    }  # fmt: skip
    phase = reformed["phase-2021-2025"]
    assert card(phase, "H1").rank is not None and card(phase, "H1").unit.closed_at is not None
    assert all(c.rank is None for c in reformed["2026"] if c.unit.tier is Tier.DISTRICT)


def test_flows_follow_the_winning_versions_day(reformed: dict[str, list[Scorecard]]) -> None:
    h2 = card(reformed["2025"], "H2")
    assert value(h2, "C14") == (0, 0)  # I1 came after the closing: X2's (not a commune criterion)
    assert value(h2, "C06") == (1, 1)
    assert value(h2, "C15") == (0, 1)  # T3 trained after the closing: not as of then
    x2 = card(reformed["2025"], "X2")
    assert value(x2, "C15") == (1, 1)  # …but at 2025's end, still on H2's roll: X2's
    assert value(card(reformed["2025-Q3"], "X2"), "C15") == (0, 1)  # trained at Q3's end
    assert value(card(reformed["2025-Q2"], "H2"), "C15") == (0, 1)


def test_department_merger_transitive_and_renames(reformed: dict[str, list[Scorecard]]) -> None:
    s1 = card(reformed["2025"], "S1")
    assert s1.unit.closed_at is not None and s1.unit.successor_id == "S2"
    assert value(s1, "C03") == (1, 1)  # D5 only
    assert value(s1, "C11") == (1, 1)  # V1 only; V2 went to S2
    assert value(s1, "C12") == (1, 1)
    assert value(s1, "C01") == (1, 2)  # PR1, PR2 at its closing
    assert value(s1, "C16") == (1, 1)  # T4 trained before the closing
    s2 = card(reformed["2025"], "S2")
    assert value(s2, "C03") == (1, 1)  # D6
    assert value(s2, "C11") == (0, 1)  # V2
    assert value(s2, "C01") == (2, 2)  # PR1 (S1's, attributed) + PR2, full-online at S2
    assert value(s2, "C04") == (1, 1)  # T4 still on S1's roll
    s3 = card(reformed["2026"], "S3")
    assert value(s3, "C03") == (1, 1)  # D7, sent under S1 in 2026: S1 → S2 → S3
    assert card(reformed["2024"], "S4").unit.name == "Sở Nông nghiệp và PTNT"
    assert card(reformed["2025"], "S4").unit.name == "Sở Nông nghiệp và Môi trường"
    s5 = card(reformed["2024"], "S5")
    assert s5.rank is not None and s5.unit.closed_at is not None
    assert value(s5, "C03") == (1, 1)  # dissolved: its late dossier stays with it
    assert card(reformed["2025"], "S5").rank is None


def test_awards_never_go_to_a_closed_unit(reformed: dict[str, list[Scorecard]]) -> None:
    eligible = {c.unit.unit_id for c in kpi.award_winners(reformed["2025"])}
    assert "ENT" in eligible
    assert not eligible & {"H1", "H2", "S1"}


@pytest.mark.parametrize("seed", range(6))
def test_any_arrival_order_gives_the_same_results(client: Client, seed: int) -> None:
    """Arrival order decides seq; results must not move (the registry last in some runs)."""
    load(client, accepted(reform_province()))
    reference = results(client)
    rng = random.Random(seed)
    events, units = activity(), registry()
    rng.shuffle(events)
    rng.shuffle(units)
    order = [*events, *units] if seed % 2 == 0 else [*units, *events]
    if seed >= 4:
        order = reform_province()
        rng.shuffle(order)
    for table in ("events_raw", "kpi_counters"):
        client.command(f"TRUNCATE TABLE {table}")
    load(client, accepted(order))
    assert results(client) == reference
    report = compare_report(client, PLANS, [parse_period(p) for p in PERIODS])
    assert {p: len(d) for p, (_, d) in report.items()} == dict.fromkeys(PERIODS, 0)


def test_the_simulated_merged_province_streaming_equals_batch(client: Client) -> None:
    """The shipped registry and the simulator's reform (18 districts and five departments
    closing, sources lagging): every standard period agrees, with the districts ranked in
    2025 as of their closing and gone in 2026."""
    now = datetime(2026, 12, 4, 10, 0, tzinfo=LOCAL_TZ)
    events = [
        CanonicalEvent.model_validate({**e, "seq": n})
        for n, e in enumerate(generate(seed=154, start=date(2021, 1, 1), end=now, scale=0.03))
    ]
    load(client, events)
    periods = standard_periods(now, PLANS)
    report = compare_report(client, PLANS, periods)
    assert {p: d for p, (_, d) in report.items() if d} == {}
    assert min(units for units, _ in report.values()) >= 40  # 43 before the reform, 167 after
    year = kpi.compute_period(client, PLANS, parse_period("2025"))
    districts = [c for c in year if c.unit.tier is Tier.DISTRICT]
    assert len(districts) == 18 and all(c.rank and c.unit.closed_at for c in districts)
    assert all(c.unit.successor_id for c in districts) and not kpi.award_winners(districts)
    later = kpi.compute_period(client, PLANS, parse_period("2026"))
    assert not [c for c in later if c.unit.tier is Tier.DISTRICT and c.rank]
    assert [c.unit.name for c in year if c.unit.unit_id == "tq-so-tttt"] == [
        "Sở Thông tin và Truyền thông"
    ]


def test_replacing_the_phase_2_plan_changes_2026_on_only(client: Client, tmp_path: Path) -> None:
    """SPEC §7.1: the province adopts phase-2 targets and weights (a fixture plan file)."""
    folder = tmp_path / "plans"
    shutil.copytree(DEFAULT_PLANS_DIR, folder)
    adopted = folder / "phase-2026-2030.yaml"
    raw = yaml.safe_load(adopted.read_text(encoding="utf-8"))
    raw["provisional"], raw["note"] = False, None
    for criterion in raw["criteria"]:
        criterion["targets"] = {
            tier: min(1.0, t + 0.05) for tier, t in criterion["targets"].items()
        }
        criterion["weight"] = 2.0 if criterion["kind"] == "flow" else 1.0
    adopted.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    swapped = load_plans(folder)
    load(client, accepted(reform_province()))
    periods = [parse_period(p) for p in PERIODS]
    before = kpi.compute_periods(client, PLANS, periods)
    after = kpi.compute_periods(client, swapped, periods)
    for period in periods:
        if period.end_day <= date(2026, 1, 1):  # 2021–2025: never
            assert after[period.id] == before[period.id], period.id
        else:
            assert after[period.id] != before[period.id], period.id
            assert swapped.for_period(period).plan_id == "phase-2026-2030"
    s3 = next(c for c in after["2026"] if c.unit.unit_id == "S3")
    assert next(r for r in s3.criteria if r.id == "C03").weight == 2.0
    report = compare_report(client, swapped, periods)
    assert {p: len(d) for p, (_, d) in report.items()} == dict.fromkeys(PERIODS, 0)
