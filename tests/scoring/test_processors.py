"""The pure processors, table-driven: every measure, day boundaries, versions and order."""

from __future__ import annotations

import random
from decimal import Decimal

import orjson
import pytest

from services.scoring.processors import (
    EntityState,
    advance,
    apply,
    contribution,
    fold,
    local_day,
    version_measures,
)
from thidua.contracts.events import CanonicalEvent, to_utc_micros
from thidua.contracts.plans import default_plans

from .events import T, at, dossier, event, indicator, procedure, staff, training

IDS = default_plans().indicator_ids()
DAY = "2025-06-10T09:00:00+07:00"
D = "2025-06-10"


def contribution_of(*events: CanonicalEvent) -> dict:
    state: EntityState | None = None
    for e in events:
        state, _ = apply(state, e, indicator_ids=IDS)
    return contribution(state)


# --- flows: one event, every measure ----------------------------------------------------------

FLOW_CASES = [
    (
        "dossier online_full",
        dossier("d1", DAY, channel="online_full"),
        {("U1", "dossier_received", D): 1, ("U1", "dossier_online_full", D): 1},
    ),
    ("dossier direct", dossier("d1", DAY, channel="direct"), {("U1", "dossier_received", D): 1}),
    (
        "dossier online_partial",
        dossier("d1", DAY, channel="online_partial"),
        {("U1", "dossier_received", D): 1},
    ),
    (
        "rating satisfied",
        event(T.DOSSIER_RATED, DAY, dossier_id="d1", unit_id="U1", satisfied=True),
        {("U1", "rating", D): 1, ("U1", "rating_satisfied", D): 1},
    ),
    (
        "rating unsatisfied",
        event(T.DOSSIER_RATED, DAY, dossier_id="d1", unit_id="U1", satisfied=False),
        {("U1", "rating", D): 1},
    ),
    (
        "document signed e-doc",
        event(
            T.DOCUMENT_SENT,
            DAY,
            document_id="x",
            from_unit="U1",
            to_units=["U2"],
            electronic=True,
            digitally_signed=True,
            confidential=False,
        ),
        {("U1", "document_non_confidential", D): 1, ("U1", "document_electronic_signed", D): 1},
    ),
    (
        "document unsigned",
        event(
            T.DOCUMENT_SENT,
            DAY,
            document_id="x",
            from_unit="U1",
            to_units=[],
            electronic=True,
            digitally_signed=False,
            confidential=False,
        ),
        {("U1", "document_non_confidential", D): 1},
    ),
    (
        "document paper",
        event(
            T.DOCUMENT_SENT,
            DAY,
            document_id="x",
            from_unit="U1",
            to_units=[],
            electronic=False,
            digitally_signed=True,
            confidential=False,
        ),
        {("U1", "document_non_confidential", D): 1},
    ),
    (
        "document confidential is in neither",
        event(
            T.DOCUMENT_SENT,
            DAY,
            document_id="x",
            from_unit="U1",
            to_units=[],
            electronic=True,
            digitally_signed=True,
            confidential=True,
        ),
        {},
    ),
    (
        "workfile online signed",
        event(
            T.WORKFILE_CLOSED,
            DAY,
            workfile_id="w",
            unit_id="U1",
            online=True,
            digitally_signed=True,
            secret=False,
        ),
        {
            ("U1", "workfile_non_secret", D): 1,
            ("U1", "workfile_online", D): 1,
            ("U1", "workfile_online_signed", D): 1,
        },
    ),
    (
        "workfile online unsigned",
        event(
            T.WORKFILE_CLOSED,
            DAY,
            workfile_id="w",
            unit_id="U1",
            online=True,
            digitally_signed=False,
            secret=False,
        ),
        {("U1", "workfile_non_secret", D): 1, ("U1", "workfile_online", D): 1},
    ),
    (
        "workfile offline signed",
        event(
            T.WORKFILE_CLOSED,
            DAY,
            workfile_id="w",
            unit_id="U1",
            online=False,
            digitally_signed=True,
            secret=False,
        ),
        {("U1", "workfile_non_secret", D): 1},
    ),
    (
        "workfile secret is in neither",
        event(
            T.WORKFILE_CLOSED,
            DAY,
            workfile_id="w",
            unit_id="U1",
            online=True,
            digitally_signed=True,
            secret=True,
        ),
        {},
    ),
    (
        "report shared",
        event(T.REPORT_SUBMITTED, DAY, report_id="r", unit_id="U1", via_shared_system=True),
        {("U1", "report", D): 1, ("U1", "report_via_shared_system", D): 1},
    ),
    (
        "report other",
        event(T.REPORT_SUBMITTED, DAY, report_id="r", unit_id="U1", via_shared_system=False),
        {("U1", "report", D): 1},
    ),
    (
        "inspection digital",
        event(T.INSPECTION_COMPLETED, DAY, inspection_id="i", unit_id="U1", digital=True),
        {("U1", "inspection", D): 1, ("U1", "inspection_digital", D): 1},
    ),
    (
        "inspection on paper",
        event(T.INSPECTION_COMPLETED, DAY, inspection_id="i", unit_id="U1", digital=False),
        {("U1", "inspection", D): 1},
    ),
]


@pytest.mark.parametrize(("case", "ev", "expected"), FLOW_CASES, ids=[c[0] for c in FLOW_CASES])
def test_flow_measures(case: str, ev: CanonicalEvent, expected: dict) -> None:
    state, delta = apply(None, ev, indicator_ids=IDS)
    assert delta == expected
    assert contribution(state) == expected


# --- stocks: one event, every measure ---------------------------------------------------------

STOCK_CASES = [
    (
        "procedure full online mobile",
        procedure("p", DAY),
        {
            ("U1", "procedure_eligible", D): 1,
            ("U1", "procedure_eligible_full_online", D): 1,
            ("U1", "procedure_eligible_full_online_mobile", D): 1,
        },
    ),
    (
        "procedure full online, not mobile",
        procedure("p", DAY, mobile=False),
        {("U1", "procedure_eligible", D): 1, ("U1", "procedure_eligible_full_online", D): 1},
    ),
    (
        "procedure eligible only",
        procedure("p", DAY, full_online=False),
        {("U1", "procedure_eligible", D): 1},
    ),
    ("procedure not eligible counts nowhere", procedure("p", DAY, eligible=False), {}),
    (
        "civil servant with digital id",
        staff("s", DAY),
        {
            ("U1", "civil_servant_active", D): 1,
            ("U1", "civil_servant_digital_id", D): 1,
            ("U1", "cbccvc_active", D): 1,
        },
    ),
    (
        "civil servant without digital id",
        staff("s", DAY, digital_id=False),
        {("U1", "civil_servant_active", D): 1, ("U1", "cbccvc_active", D): 1},
    ),
    (
        "public employee",
        staff("s", DAY, category="public_employee"),
        {("U1", "cbccvc_active", D): 1},
    ),
    ("worker counts nowhere", staff("s", DAY, category="worker"), {}),
    ("inactive counts nowhere", staff("s", DAY, active=False), {}),
    (
        "indicator ratio",
        indicator("U1", "C17", DAY, 850, 1000),
        {("U1", "indicator.C17.num", D): 850, ("U1", "indicator.C17.den", D): 1000},
    ),
    (
        "indicator boolean no",
        indicator("U1", "C06", DAY, 0, 1),
        {("U1", "indicator.C06.den", D): 1},
    ),
    (
        "indicator exact decimal",
        indicator("U1", "C18", DAY, 0.85, 1.0),
        {("U1", "indicator.C18.num", D): Decimal("0.85"), ("U1", "indicator.C18.den", D): 1},
    ),
    ("indicator of an event criterion is ignored", indicator("U1", "C03", DAY, 1, 1), {}),
    ("indicator of an unknown criterion is ignored", indicator("U1", "C99", DAY, 1, 1), {}),
    (
        "unit registry counts nowhere",
        event(T.UNIT_UPSERTED, DAY, unit_id="U1", name="Sở A", tier="province_agency", active=True),
        {},
    ),
    ("training alone counts nowhere", training("s", DAY), {}),
]


@pytest.mark.parametrize(("case", "ev", "expected"), STOCK_CASES, ids=[c[0] for c in STOCK_CASES])
def test_stock_measures(case: str, ev: CanonicalEvent, expected: dict) -> None:
    state, delta = apply(None, ev, indicator_ids=IDS)
    assert delta == expected
    assert contribution(state) == expected


def test_unit_and_ignored_indicators_keep_no_state() -> None:
    unit = event(T.UNIT_UPSERTED, DAY, unit_id="U1", name="Sở A", tier="district", active=True)
    assert apply(None, unit, indicator_ids=IDS) == (None, {})
    assert apply(None, indicator("U1", "C99", DAY, 1, 1), indicator_ids=IDS) == (None, {})


# --- local days at the period boundary ---------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "day"),
    [
        ("2025-12-31T23:59:59+07:00", "2025-12-31"),
        ("2025-12-31T23:59:59.999999+07:00", "2025-12-31"),
        ("2026-01-01T00:00:00+07:00", "2026-01-01"),
        ("2025-12-31T17:00:00+00:00", "2026-01-01"),
        ("2025-12-31T16:59:59.999999+00:00", "2025-12-31"),
        ("2025-12-31T12:00:00-05:00", "2026-01-01"),
        ("2025-06-30T23:30:00+07:00", "2025-06-30"),
        ("1970-01-01T00:00:00+00:00", "1970-01-01"),
    ],
)
def test_local_day(time: str, day: str) -> None:
    assert local_day(to_utc_micros(at(time))) == day
    assert contribution_of(dossier("d", time, channel="direct")) == {
        ("U1", "dossier_received", day): 1
    }


def test_stock_change_at_midnight_lands_on_the_new_year() -> None:
    result = contribution_of(
        procedure("p", "2025-03-01T10:00:00+07:00"),
        procedure("p", "2025-12-31T17:00:00Z", mobile=False),  # 2026-01-01 00:00 local
    )
    assert result == {
        ("U1", "procedure_eligible", "2025-03-01"): 1,
        ("U1", "procedure_eligible_full_online", "2025-03-01"): 1,
        ("U1", "procedure_eligible_full_online_mobile", "2025-03-01"): 1,
        ("U1", "procedure_eligible_full_online_mobile", "2026-01-01"): -1,
    }


# --- versions: corrections, resends, order ----------------------------------------------------


def test_correction_replaces_channel_unit_and_day() -> None:
    old = dossier("d1", "2025-06-10T09:00:00+07:00", unit="U1", channel="online_full")
    new = dossier("d1", "2025-06-11T09:00:00+07:00", unit="U2", channel="direct")
    state, _ = apply(None, old, indicator_ids=IDS)
    state, delta = apply(state, new, indicator_ids=IDS)
    assert delta == {
        ("U1", "dossier_received", "2025-06-10"): -1,
        ("U1", "dossier_online_full", "2025-06-10"): -1,
        ("U2", "dossier_received", "2025-06-11"): 1,
    }
    assert contribution(state) == {("U2", "dossier_received", "2025-06-11"): 1}


def test_older_version_arriving_late_changes_nothing() -> None:
    new = dossier("d1", "2025-06-11T09:00:00+07:00", unit="U2", channel="direct", seq=5)
    old = dossier("d1", "2025-06-10T09:00:00+07:00", unit="U1", seq=9)
    state, _ = apply(None, new, indicator_ids=IDS)
    state, delta = apply(state, old, indicator_ids=IDS)
    assert delta == {}
    assert contribution(state) == {("U2", "dossier_received", "2025-06-11"): 1}


def test_resend_changes_nothing_whatever_its_content() -> None:
    first = dossier("d1", DAY, channel="online_full", id="same", seq=10)
    resend = dossier("d1", "2025-06-12T09:00:00+07:00", channel="direct", id="same", seq=20)
    state, _ = apply(None, first, indicator_ids=IDS)
    after, delta = apply(state, resend, indicator_ids=IDS)
    assert (after, delta) == (state, {})


def test_resend_reaching_scoring_first_yields_to_the_first_acceptance() -> None:
    a = dossier("d1", DAY, channel="online_full", id="a", seq=10)
    b = dossier("d1", DAY, channel="direct", id="b", seq=11)
    a_resent = dossier("d1", DAY, channel="online_full", id="a", seq=12)
    orders = [[a, b, a_resent], [a_resent, b, a], [b, a_resent, a], [a_resent, a, b]]
    results = [contribution_of(*order) for order in orders]
    assert all(r == {("U1", "dossier_received", D): 1} for r in results)  # b wins (seq 11 > 10)


def test_equal_times_are_decided_by_seq() -> None:
    first = dossier("d1", DAY, unit="U1", seq=100)
    second = dossier("d1", DAY, unit="U2", seq=101)
    expected = {("U2", "dossier_received", D): 1, ("U2", "dossier_online_full", D): 1}
    assert contribution_of(first, second) == expected
    assert contribution_of(second, first) == expected


def test_two_stock_versions_on_one_day_leave_only_the_last() -> None:
    result = contribution_of(
        procedure("p", "2025-06-10T08:00:00+07:00", mobile=False),
        procedure("p", "2025-06-10T20:00:00+07:00", eligible=False),
        procedure("p", "2025-06-10T12:00:00+07:00"),
    )
    assert result == {}


def test_invalid_data_raises() -> None:
    bad = event(
        T.DOSSIER_RECEIVED, DAY, dossier_id="d", unit_id="U1", procedure_id="P", channel="fax"
    )
    with pytest.raises(ValueError):
        apply(None, bad, indicator_ids=IDS)
    mistyped = event(T.REPORT_SUBMITTED, DAY, report_id="r", unit_id="U1", via_shared_system="true")
    with pytest.raises(ValueError):
        apply(None, mistyped, indicator_ids=IDS)


def test_indicator_updates_are_exact() -> None:
    result = contribution_of(
        indicator("U1", "C18", "2025-01-05T10:00:00+07:00", 0.85, 1),
        indicator("U1", "C18", "2025-02-05T10:00:00+07:00", 0.9, 1),
        indicator("U1", "C18", "2025-03-05T10:00:00+07:00", 0.3, 1),
    )
    assert result == {
        ("U1", "indicator.C18.num", "2025-01-05"): Decimal("0.85"),
        ("U1", "indicator.C18.num", "2025-02-05"): Decimal("0.05"),
        ("U1", "indicator.C18.num", "2025-03-05"): Decimal("-0.6"),
        ("U1", "indicator.C18.den", "2025-01-05"): 1,
    }
    assert sum(result[k] for k in result if k[1].endswith("num")) == Decimal("0.3")


# --- staff: units, categories, training ----------------------------------------------------------


def test_staff_moving_units() -> None:
    result = contribution_of(
        staff("s", "2025-02-01T09:00:00+07:00", unit="U1", category="public_employee"),
        staff("s", "2025-05-01T09:00:00+07:00", unit="U2", category="public_employee"),
        training("s", "2025-03-01T09:00:00+07:00", program="data_analytics"),
    )
    assert result == {
        ("U1", "cbccvc_active", "2025-02-01"): 1,
        ("U1", "cbccvc_trained_data_analytics", "2025-03-01"): 1,
        ("U1", "cbccvc_active", "2025-05-01"): -1,
        ("U1", "cbccvc_trained_data_analytics", "2025-05-01"): -1,
        ("U2", "cbccvc_active", "2025-05-01"): 1,
        ("U2", "cbccvc_trained_data_analytics", "2025-05-01"): 1,
    }


def test_training_before_registration_counts_from_registration() -> None:
    early = training("s", "2024-11-01T09:00:00+07:00")
    registered = staff("s", "2025-02-01T09:00:00+07:00", digital_id=False)
    state, delta = apply(None, early, indicator_ids=IDS)
    assert delta == {} and state is not None and state.type is None
    state, delta = apply(state, registered, indicator_ids=IDS)
    assert delta == {
        ("U1", "civil_servant_active", "2025-02-01"): 1,
        ("U1", "cbccvc_active", "2025-02-01"): 1,
        ("U1", "cbccvc_trained_basic_digital_skills", "2025-02-01"): 1,
    }


def test_second_completion_of_a_program_counts_once_from_the_earliest() -> None:
    result = contribution_of(
        staff("s", "2025-01-01T09:00:00+07:00", category="public_employee"),
        training("s", "2025-04-01T09:00:00+07:00"),
        training("s", "2025-03-01T09:00:00+07:00"),
        training("s", "2025-04-01T09:00:00+07:00"),
    )
    assert result == {
        ("U1", "cbccvc_active", "2025-01-01"): 1,
        ("U1", "cbccvc_trained_basic_digital_skills", "2025-03-01"): 1,
    }


def test_training_of_a_worker_or_inactive_member_counts_nowhere_until_eligible() -> None:
    result = contribution_of(
        staff("s", "2025-01-01T09:00:00+07:00", category="worker"),
        training("s", "2025-02-01T09:00:00+07:00"),
        staff("s", "2025-06-01T09:00:00+07:00", category="civil_servant", active=False),
        staff("s", "2025-09-01T09:00:00+07:00", category="civil_servant"),
    )
    assert result == {
        ("U1", "civil_servant_active", "2025-09-01"): 1,
        ("U1", "civil_servant_digital_id", "2025-09-01"): 1,
        ("U1", "cbccvc_active", "2025-09-01"): 1,
        ("U1", "cbccvc_trained_basic_digital_skills", "2025-09-01"): 1,
    }


def test_state_round_trips_through_bytes() -> None:
    state: EntityState | None = None
    for e in (
        staff("s", DAY),
        training("s", DAY),
        staff("s", "2025-07-01T00:00:00+07:00", unit="U9"),
    ):
        state, _ = apply(state, e, indicator_ids=IDS)
    assert state is not None
    assert EntityState.from_bytes(state.to_bytes()) == state


# --- properties: arrival order and period-end state -------------------------------------------


def _history(rng: random.Random) -> list[CanonicalEvent]:
    """Versions of a few entities around a year boundary, accepted in list order, plus resends."""
    times = [
        "2025-12-31T16:59:59+00:00",
        "2025-12-31T17:00:00+00:00",
        "2025-12-31T23:59:59+07:00",
        "2026-01-01T00:00:00+07:00",
        "2025-06-01T00:00:00+07:00",
        "2026-02-01T12:00:00+07:00",
    ]
    events: list[CanonicalEvent] = []
    for seq in range(1, 40):
        t = rng.choice(times)
        unit = rng.choice(["U1", "U2"])
        kind = rng.randrange(5)
        if kind == 0:
            e = dossier(
                f"d{rng.randrange(3)}",
                t,
                unit=unit,
                channel=rng.choice(["online_full", "direct"]),
                seq=seq,
            )
        elif kind == 1:
            e = staff(
                f"s{rng.randrange(2)}",
                t,
                unit=unit,
                category=rng.choice(["civil_servant", "public_employee", "worker"]),
                digital_id=rng.random() < 0.5,
                active=rng.random() < 0.8,
                seq=seq,
            )
        elif kind == 2:
            e = training(
                f"s{rng.randrange(2)}",
                t,
                program=rng.choice(["basic_digital_skills", "data_analytics"]),
                seq=seq,
            )
        elif kind == 3:
            e = procedure(
                f"p{rng.randrange(2)}",
                t,
                unit=unit,
                eligible=rng.random() < 0.8,
                full_online=rng.random() < 0.5,
                mobile=rng.random() < 0.5,
                seq=seq,
            )
        else:
            e = indicator(unit, "C17", t, rng.choice([0, 0.5, 0.75, 3]), 3, seq=seq)
        events.append(e)
        if rng.random() < 0.2:  # a resend: same (source, id), accepted again later
            events.append(e.model_copy(update={"seq": seq + 1000}))
    return events


@pytest.mark.parametrize("seed", range(30))
def test_result_does_not_depend_on_arrival_order(seed: int) -> None:
    rng = random.Random(seed)
    history = _history(rng)
    expected = fold(history, indicator_ids=IDS)
    for _ in range(10):
        shuffled = history[:]
        rng.shuffle(shuffled)
        assert fold(shuffled, indicator_ids=IDS) == expected


def _state_at(history: list[CanonicalEvent], end: str) -> dict:
    """Stocks at a period's end computed directly from SPEC §3 (not from deltas)."""
    end_us = to_utc_micros(at(end))
    firsts: dict[tuple[str, str], CanonicalEvent] = {}
    for e in sorted(history, key=lambda e: e.seq):  # first acceptance of each (source, id)
        firsts.setdefault((e.source, e.id), e)
    kept = [e for e in firsts.values() if to_utc_micros(e.time) < end_us]
    latest: dict[str, CanonicalEvent] = {}
    for e in sorted(kept, key=lambda e: (to_utc_micros(e.time), e.seq)):
        if e.type is not T.TRAINING_COMPLETED:
            latest[e.entity_key] = e
    trained = {
        (e.data["staff_id"], e.data["program"]) for e in kept if e.type is T.TRAINING_COMPLETED
    }
    totals: dict[tuple[str, str], object] = {}

    def add(unit: str, measure: str, value: object) -> None:
        if value:
            totals[(unit, measure)] = totals.get((unit, measure), 0) + value  # type: ignore[operator]

    for e in latest.values():
        d = e.data
        if e.type is T.PROCEDURE_UPSERTED:
            add(d["unit_id"], "procedure_eligible", int(d["full_online_eligible"]))
            add(
                d["unit_id"],
                "procedure_eligible_full_online",
                int(d["full_online_eligible"] and d["full_online"]),
            )
            add(
                d["unit_id"],
                "procedure_eligible_full_online_mobile",
                int(d["full_online_eligible"] and d["full_online"] and d["mobile"]),
            )
        elif e.type is T.STAFF_UPSERTED:
            cs = d["active"] and d["category"] == "civil_servant"
            cbccvc = d["active"] and d["category"] != "worker"
            add(d["unit_id"], "civil_servant_active", int(cs))
            add(d["unit_id"], "civil_servant_digital_id", int(cs and d["digital_id"]))
            add(d["unit_id"], "cbccvc_active", int(cbccvc))
            for program in ("basic_digital_skills", "data_analytics"):
                add(
                    d["unit_id"],
                    f"cbccvc_trained_{program}",
                    int(cbccvc and (d["staff_id"], program) in trained),
                )
        elif e.type is T.INDICATOR_OBSERVED:
            add(
                d["unit_id"],
                "indicator.C17.num",
                Decimal(repr(d["numerator"]))
                if isinstance(d["numerator"], float)
                else d["numerator"],
            )
            add(d["unit_id"], "indicator.C17.den", d["denominator"])
    return {k: v for k, v in totals.items() if v != 0}


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize(
    "end", ["2026-01-01T00:00:00+07:00", "2025-12-31T00:00:00+07:00", "2026-03-01T00:00:00+07:00"]
)
def test_stock_deltas_before_the_end_day_sum_to_the_state_at_the_end(seed: int, end: str) -> None:
    history = _history(random.Random(seed))
    counters = fold(history, indicator_ids=IDS)
    end_day = end[:10]
    stock_measures = ("procedure", "civil_servant", "cbccvc", "indicator")
    summed: dict[tuple[str, str], object] = {}
    for (unit, measure, day), value in counters.items():
        if day < end_day and measure.startswith(stock_measures):
            summed[(unit, measure)] = summed.get((unit, measure), 0) + value  # type: ignore[operator]
    assert {k: v for k, v in summed.items() if v != 0} == _state_at(history, end)


def test_flows_count_the_winning_version_once() -> None:
    history = [
        dossier("d1", "2025-12-31T23:59:59+07:00", unit="U1", seq=1),
        dossier("d1", "2025-12-31T17:00:00Z", unit="U1", channel="direct", seq=2),
        dossier("d2", "2025-12-31T16:59:59Z", unit="U1", seq=3),
        dossier("d2", "2025-12-31T16:59:59Z", unit="U2", seq=4),
    ]
    assert fold(history, indicator_ids=IDS) == {
        ("U1", "dossier_received", "2026-01-01"): 1,
        ("U2", "dossier_received", "2025-12-31"): 1,
        ("U2", "dossier_online_full", "2025-12-31"): 1,
    }


@pytest.mark.parametrize("seed", range(10))
def test_advance_with_remembered_contributions_agrees_with_apply(seed: int) -> None:
    """The scorer hands ``advance`` the contribution it remembers; the result must be what
    ``apply`` computes from the state alone, at every step."""
    history = _history(random.Random(seed))
    random.Random(seed).shuffle(history)
    states: dict[str, EntityState | None] = {}
    known: dict[str, dict | None] = {}
    for e in history:
        key = e.entity_key
        expected_state, expected_delta = apply(states.get(key), e, indicator_ids=IDS)
        state, contrib, delta = advance(states.get(key), known.get(key), e, indicator_ids=IDS)
        assert (state, delta) == (expected_state, expected_delta)
        assert contrib is None or contrib == contribution(state)
        states[key], known[key] = state, contrib


def test_version_measures_are_a_new_dict_each_time() -> None:
    """They are computed once per field combination; a caller changing its copy must not
    change the next caller's."""
    fields = ("U1", "civil_servant", True, True)
    unit, first = version_measures(T.STAFF_UPSERTED, fields)
    first["cbccvc_trained_data_analytics"] = 1
    assert version_measures(T.STAFF_UPSERTED, fields) == (
        unit,
        {"civil_servant_active": 1, "civil_servant_digital_id": 1, "cbccvc_active": 1},
    )


def test_indicator_numbers_of_equal_value_and_other_types_are_kept_exact() -> None:
    """Measures are remembered per field combination, where 1 and 1.0 are one key: each
    gives the exact number."""
    for numerator, expected in ((1.0, 1), (1, 1), (0.5, Decimal("0.5")), (1.0, 1)):
        _, values = version_measures(T.INDICATOR_OBSERVED, ("U1", "C17", numerator, 2))
        assert values == {"indicator.C17.num": expected, "indicator.C17.den": 2}
        assert type(values["indicator.C17.num"]) is type(expected)


def test_state_bytes_keep_the_changelog_format() -> None:
    """Workers restore states other versions of the code wrote: the format is fixed."""
    from services.scoring.processors import Completion, Version

    state = EntityState(
        T.STAFF_UPSERTED,
        (Version(1, 2, "s", "i", ("U1", "civil_servant", True, True)),),
        (Completion("basic_digital_skills", 3, 4, "s", "j"),),
    )
    assert orjson.loads(state.to_bytes()) == {
        "t": "vn.thidua.staff.upserted",
        "v": [[1, 2, "s", "i", ["U1", "civil_servant", True, True]]],
        "c": [["basic_digital_skills", 3, 4, "s", "j"]],
    }
    assert EntityState.from_bytes(state.to_bytes()) == state


def _fresh_bytes(state: EntityState) -> bytes:
    """``to_bytes`` of a copy that never knew its encoding."""
    return EntityState(state.type, state.versions, state.completions).to_bytes()


def test_state_bytes_appended_to_equal_a_fresh_encoding() -> None:
    """A state's bytes are remembered and extended when a version is appended (indicators
    have hundreds): they must stay what encoding the whole state gives, in every path."""
    from services.scoring.processors import Completion, Version

    def version(n: int, text: str = "s") -> Version:
        return Version(n * 10, n, text, f"i{n}", ("U1", "civil_servant", n % 2 == 0, True))

    state = EntityState().with_completion(Completion("basic_digital_skills", 3, 4, "s", "j"))
    state = EntityState.from_bytes(state.to_bytes())  # remembered: trainings only, no type
    for n in range(1, 6):
        state = state.with_version(T.STAFF_UPSERTED, version(n, text='q"],"c":x'))
        assert state.to_bytes() == _fresh_bytes(state)
        state = EntityState.from_bytes(state.to_bytes())
    state = state.with_version(T.STAFF_UPSERTED, version(2, "late"))  # inserted, not appended
    assert state.to_bytes() == _fresh_bytes(state)
    state = state.with_completion(Completion("data_analytics", 5, 6, "s", "k"))
    state = state.with_version(T.STAFF_UPSERTED, version(9))
    assert state.to_bytes() == _fresh_bytes(state)
    assert EntityState.from_bytes(state.to_bytes()) == state
    assert len(state.versions) == 7 and len(state.completions) == 2


def test_state_bytes_of_another_shape_are_encoded_whole_when_appended_to() -> None:
    """Restored bytes that are valid JSON of the state but not orjson's compact form (another
    writer) cannot be extended in place: the new state is encoded whole."""
    from services.scoring.processors import Version

    spaced = b'{"t": "vn.thidua.dvc.procedure.upserted", "v": [[1, 1, "s", "a", ["U1", true, true, true]]], "c": []}'  # noqa: E501
    state = EntityState.from_bytes(spaced)
    after = state.with_version(
        T.PROCEDURE_UPSERTED, Version(2, 2, "s", "b", ("U1", True, False, False))
    )
    assert after.to_bytes() == _fresh_bytes(after)
    assert EntityState.from_bytes(after.to_bytes()) == after
