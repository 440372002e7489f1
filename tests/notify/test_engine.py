"""The pure rule engine, driven through time sequences (no Kafka, no HTTP)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from services.notify.conditions import trend_at
from services.notify.rules import load_rules
from thidua.contracts.periods import LOCAL_TZ

from .helpers import at, card, engine

FLOW = {
    "name": "flow_below_target",
    "kind": "flow_below_target",
    "for": "30m",
    "keep_firing_for": "2h",
    "repeat_interval": "24h",
    "min_denominator": 5,
}

# (time, scorecards arriving then, expected notifications as (state, repeat) at that time)
Step = tuple[Any, list[dict[str, Any]], list[tuple[str, bool]]]


def run(steps: list[Step], *rules: dict[str, Any]) -> None:
    eng = engine(*rules)
    for number, (when, cards, expected) in enumerate(steps):
        eng.add_all(cards)
        got = [(a.state, a.repeat) for a in eng.evaluate(when)]
        assert got == expected, f"step {number} at {when}"


def test_flow_pending_firing_repeat_hysteresis_resolved() -> None:
    low = card(C13=(4, 10, 0.6))
    run(
        [
            (at(), [low], []),  # pending
            (at(minutes=10), [], []),
            (at(minutes=30), [], [("firing", False)]),
            (at(hours=5), [], []),
            (at(hours=24, minutes=30), [], [("firing", True)]),  # repeat interval
            (at(hours=25), [card(when=at(hours=25), C13=(7, 10, 0.6))], []),  # clear: hold
            (at(hours=26), [card(when=at(hours=26), C13=(5, 10, 0.6))], []),  # flaps back
            (at(hours=26, minutes=30), [card(when=at(hours=26, minutes=30), C13=(8, 10, 0.6))], []),
            (at(hours=28), [], []),
            (at(hours=28, minutes=30), [], [("resolved", False)]),  # 2h clear
            (at(hours=40), [], []),
        ],
        FLOW,
    )


def test_flow_clearing_while_pending_never_fires() -> None:
    run(
        [
            (at(), [card(C05=(8, 10, 0.9))], []),
            (at(minutes=20), [card(when=at(minutes=20), C05=(10, 10, 0.9))], []),
            (at(hours=3), [], []),
        ],
        FLOW,
    )


@pytest.mark.parametrize(
    "scorecard",
    [
        card(C13=(1, 3, 0.6)),  # too few work files to judge
        card(C13=(0, 0, 0.6)),  # no data
        card(rank=None, C13=(1, 10, 0.6)),  # inactive unit
        card(C04=(1, 10, 1.0)),  # a stock criterion
        card(period="2025", C13=(1, 10, 0.6)),  # not the rule's period
    ],
)
def test_flow_rule_ignores(scorecard: dict[str, Any]) -> None:
    run([(at(), [scorecard], []), (at(hours=1), [], [])], FLOW)


def test_one_alert_per_unit_and_criterion() -> None:
    eng = engine({**FLOW, "for": "0s"})
    eng.add(card(C13=(1, 10, 0.6), C05=(1, 10, 0.9)))
    eng.add(card(unit="tq-xa-00691", C13=(1, 10, 0.6)))
    alerts = eng.evaluate(at())
    assert sorted((a.unit_id, a.criterion) for a in alerts) == [
        ("tq-xa-00691", "C13"),
        ("tq-xa-02269", "C05"),
        ("tq-xa-02269", "C13"),
    ]
    assert len({a.fingerprint for a in alerts}) == 3
    assert eng.evaluate(at(minutes=1)) == []
    assert "dưới mục tiêu 60%" in alerts[0].summary


STOCK = {"name": "trend", "kind": "stock_trend", "for": "0s", "keep_firing_for": "0s"}


def quarters(*values: float, unit: str = "tq-so-noi-vu") -> list[dict[str, Any]]:
    return [
        card(unit=unit, period=f"2025-Q{q}", tier="province_agency", C04=(v * 100, 100, 1.0))
        for q, v in enumerate(values, start=1)
    ]


def test_stock_trend_fires_when_the_line_misses_the_deadline() -> None:
    run([(at(), quarters(0.5, 0.6, 0.7), [("firing", False)])], STOCK)


def test_stock_trend_on_track_stays_quiet() -> None:
    run([(at(), quarters(0.8, 0.9, 0.98), [])], STOCK)


def test_stock_trend_needs_enough_points() -> None:
    run([(at(), quarters(0.1, 0.2), [])], STOCK)


def test_stock_trend_uses_the_actual_value_at_the_deadline() -> None:
    final = card(unit="tq-so-noi-vu", period="2025", tier="province_agency", C04=(99, 100, 1.0))
    eng = engine(STOCK)
    eng.add(final)
    (alert,) = eng.evaluate(at())
    assert alert.criterion == "C04" and "đạt 99%" in alert.summary
    # corrected to 100%: resolves at once (no hysteresis in this rule)
    eng.add(
        card(
            unit="tq-so-noi-vu",
            period="2025",
            tier="province_agency",
            when=at(hours=1),
            C04=(100, 100, 1.0),
        )
    )
    assert [a.state for a in eng.evaluate(at(hours=1))] == ["resolved"]


def test_trend_line() -> None:
    points = [(date(2025, 4, 1), 0.5), (date(2025, 7, 1), 0.6), (date(2025, 10, 1), 0.7)]
    assert trend_at(points, date(2026, 1, 1)) == pytest.approx(0.8, abs=0.01)


SILENT = {"name": "silent", "kind": "silent", "days": 7, "for": "0s", "keep_firing_for": "0s"}


def test_silent_unit_fires_after_n_days_and_resolves_on_activity() -> None:
    run(
        [
            (at(), [card(C13=(5, 10, 0.6))], []),
            (at(days=3), [card(when=at(days=3), C13=(5, 10, 0.6))], []),  # nothing new
            (at(days=7), [], [("firing", False)]),
            (at(days=8), [card(when=at(days=8), C13=(6, 11, 0.6))], [("resolved", False)]),
        ],
        SILENT,
    )


RANK = {
    "name": "rank",
    "kind": "rank_drop",
    "places": 5,
    "window": "7d",
    "for": "0s",
    "keep_firing_for": "1h",
}


def test_rank_drop_of_k_places() -> None:
    run(
        [
            (at(), [card(rank=3)], []),
            (at(hours=1), [card(rank=6, when=at(hours=1))], []),  # 3 places
            (at(hours=2), [card(rank=9, when=at(hours=2))], [("firing", False)]),  # 6 places
            (at(days=7, hours=1), [], []),  # rank 3 left the window: clear, hold 1h
            (at(days=7, hours=2), [], [("resolved", False)]),
        ],
        RANK,
    )


def test_replayed_older_results_are_ignored() -> None:
    eng = engine({**FLOW, "for": "0s"})
    eng.add(card(when=at(hours=1), C13=(9, 10, 0.6)))
    eng.add(card(when=at(), C13=(1, 10, 0.6)))  # older, from a compacted-topic replay
    assert eng.evaluate(at(hours=1)) == []


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert {r.kind for r in rules.rules} == {
        "flow_below_target",
        "stock_trend",
        "silent",
        "source_silent",
        "rank_drop",
    }


def test_source_silent() -> None:
    eng = engine(
        {"name": "src", "kind": "source_silent", "days": 2, "for": "0s", "keep_firing_for": "0s"}
    )
    eng.observations.saw_source("events-dvc", at())
    eng.observations.saw_source("events-dvc", at(hours=-5))  # older: ignored
    eng.observations.saw_source("events-edoc", at(days=2))
    assert eng.evaluate(at(days=1)) == []
    (alert,) = eng.evaluate(at(days=2))
    assert (alert.unit_id, alert.criterion, alert.state) == ("", "events-dvc", "firing")
    assert "Cổng dịch vụ công" in alert.summary
    eng.observations.saw_source("events-dvc", at(days=2, hours=1))
    assert [a.state for a in eng.evaluate(at(days=2, hours=1))] == ["resolved"]


# --- SPEC §7.3: the plan in force, past dates, closed units ---------------------------------

NOW_2026 = datetime(2026, 12, 4, 10, 0, tzinfo=LOCAL_TZ)


def test_stock_trend_projects_to_the_target_date_of_the_plan_in_force() -> None:
    eng = engine(STOCK)
    eng.add_all(quarters(0.5, 0.6, 0.7, 0.75))  # phase 1's quarters: not phase 2's trend
    assert eng.evaluate(NOW_2026) == []
    eng.add_all(
        card(unit="tq-so-noi-vu", period=f"2026-Q{q}", tier="province_agency", when=NOW_2026,
             C04=(v, 100, 1.0))
        for q, v in ((1, 50), (2, 51), (3, 52))
    )  # fmt: skip
    (alert,) = eng.evaluate(NOW_2026)
    assert alert.criterion == "C04" and "31/12/2030" in alert.summary
    assert "phase-2026-2030" in alert.summary


def test_stock_trend_never_projects_to_a_past_date() -> None:
    past = {**STOCK, "deadline": "2025-12-31"}
    eng = engine(past)
    eng.add_all(
        card(unit="tq-so-noi-vu", period=f"2026-Q{q}", tier="province_agency", when=NOW_2026,
             C04=(v, 100, 1.0))
        for q, v in ((1, 50), (2, 51), (3, 52))
    )  # fmt: skip
    assert eng.evaluate(NOW_2026) == []


def test_a_closed_unit_gets_no_new_alert_and_its_alerts_resolve_at_once() -> None:
    rule = {"name": "flow", "kind": "flow_below_target", "for": "0s", "keep_firing_for": "2h"}
    eng = engine(rule)
    eng.add(card(unit="tq-huyen-070", C05=(1, 10, 0.9)))
    eng.add(card(unit="tq-huyen-071", C05=(1, 10, 0.9)))
    assert {a.unit_id for a in eng.evaluate(at())} == {"tq-huyen-070", "tq-huyen-071"}
    closing = card(unit="tq-huyen-070", when=at(minutes=5), C05=(1, 10, 0.9))
    closing["closed_at"] = at(minutes=4).isoformat()
    eng.add(closing)
    later = card(unit="tq-huyen-072", when=at(minutes=5), C05=(1, 10, 0.9))
    later["closed_at"] = at(minutes=4).isoformat()
    eng.add(later)
    alerts = eng.evaluate(at(minutes=6))
    assert [(a.unit_id, a.state) for a in alerts] == [("tq-huyen-070", "resolved")]
