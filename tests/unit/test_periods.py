from datetime import UTC, date, datetime, timedelta

import pytest

from thidua.contracts.periods import LOCAL_TZ, PeriodError, local_day, parse_period


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2025", "year", date(2025, 1, 1), date(2026, 1, 1)),
        ("2025-Q1", "quarter", date(2025, 1, 1), date(2025, 4, 1)),
        ("2025-Q3", "quarter", date(2025, 7, 1), date(2025, 10, 1)),
        ("2025-Q4", "quarter", date(2025, 10, 1), date(2026, 1, 1)),
        ("phase-2021-2025", "phase", date(2021, 1, 1), date(2026, 1, 1)),
    ],
)
def test_calendar_periods(text: str, kind: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.kind, period.start_day, period.end_day) == (kind, start, end)
    assert period.start == datetime(start.year, start.month, start.day, tzinfo=LOCAL_TZ)
    assert period.start.utcoffset() == timedelta(hours=7)


def test_year_is_half_open_at_local_midnight() -> None:
    year = parse_period("2025")
    last_moment = datetime(2025, 12, 31, 23, 59, 59, tzinfo=LOCAL_TZ)
    new_year_utc = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # 00:00 +07:00
    assert year.contains_day(local_day(last_moment))
    assert not year.contains_day(local_day(new_year_utc))
    assert local_day(datetime(2024, 12, 31, 17, 0, tzinfo=UTC)) == date(2025, 1, 1)


def test_rolling_30d_ends_today() -> None:
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 22:00 local
    period = parse_period("rolling-30d", now=now)
    assert period.end_day == date(2026, 11, 26)
    assert (period.end_day - period.start_day).days == 30
    assert not period.awardable


@pytest.mark.parametrize("text", ["2025-Q5", "20255", "phase-2025-2021", "last-year", "", "1999"])
def test_unknown_periods_are_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        local_day(datetime(2025, 1, 1))
