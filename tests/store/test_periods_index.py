from __future__ import annotations

from datetime import date, datetime

from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.plans import default_plans
from thidua.store.periods_index import affected_periods, standard_periods

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=LOCAL_TZ)
PLANS = default_plans()


def test_standard_periods_cover_years_started_quarters_phase_and_rolling() -> None:
    ids = [p.id for p in standard_periods(NOW, PLANS)]
    assert ids[:5] == ["2021", "2021-Q1", "2021-Q2", "2021-Q3", "2021-Q4"]
    assert "2026-Q4" in ids and "2027" not in ids
    assert ids[-2:] == ["phase-2026-2030", "rolling-30d"]
    assert {"phase-2021-2025", "phase-2026-2030", "rolling-30d"} <= set(ids)
    assert len(ids) == 6 + 24 + 3
    early = [p.id for p in standard_periods(datetime(2026, 2, 1, tzinfo=LOCAL_TZ), PLANS)]
    assert "2026-Q1" in early and "2026-Q2" not in early


def test_stock_change_touches_every_period_ending_after_its_day() -> None:
    ids = {p.id for p in affected_periods([date(2025, 6, 1)], NOW, PLANS)}
    assert {
        "2025",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
        "2026",
        "phase-2021-2025",
        "rolling-30d",
    } <= ids
    assert not ids & {"2024", "2025-Q1", "2024-Q4"}


def test_flow_change_touches_the_periods_containing_its_day() -> None:
    ids = {p.id for p in affected_periods([], NOW, PLANS, flow_days=[date(2025, 6, 1)])}
    assert ids == {"2025", "2025-Q2", "phase-2021-2025"}
    today = {p.id for p in affected_periods([], NOW, PLANS, flow_days=[date(2026, 11, 25)])}
    assert today == {"2026", "2026-Q4", "phase-2026-2030", "rolling-30d"}
    assert affected_periods([], NOW, PLANS) == []
