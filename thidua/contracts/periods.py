"""Periods of SPEC §3: half-open [start, end) in Asia/Ho_Chi_Minh.

KPI counters are bucketed by local calendar day, and every period starts and ends at a local
midnight, so a period is also a half-open range of days [start_day, end_day).
``rolling-30d`` ends now: it is the 30 local days ending with today (today included), the
finest window daily buckets can give; its stocks take the latest state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROLLING_30D = "rolling-30d"
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_PHASE = re.compile(r"^phase-(\d{4})-(\d{4})$")


class PeriodError(ValueError):
    """The period string is not one SPEC §3 defines."""


@dataclass(frozen=True, slots=True)
class Period:
    id: str
    kind: str  # "year" | "quarter" | "phase" | "rolling"
    start_day: date
    end_day: date  # exclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.start_day, datetime.min.time(), LOCAL_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.end_day, datetime.min.time(), LOCAL_TZ)

    @property
    def awardable(self) -> bool:
        """Awards exist for calendar years and the phase (SPEC §3)."""
        return self.kind in ("year", "phase")

    def contains_day(self, day: date) -> bool:
        return self.start_day <= day < self.end_day


def local_day(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: event times must carry an offset")
    return moment.astimezone(LOCAL_TZ).date()


def today(now: datetime | None = None) -> date:
    return local_day(now or datetime.now(LOCAL_TZ))


def parse_period(text: str, now: datetime | None = None) -> Period:
    if text == ROLLING_30D:
        end = today(now) + timedelta(days=1)
        return Period(text, "rolling", end - timedelta(days=30), end)
    if m := _YEAR.match(text):
        year = int(m[1])
        _check_year(year, text)
        return Period(text, "year", date(year, 1, 1), date(year + 1, 1, 1))
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        _check_year(year, text)
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return Period(text, "quarter", start, end)
    if m := _PHASE.match(text):
        first, last = int(m[1]), int(m[2])
        _check_year(first, text)
        _check_year(last, text)
        if last < first:
            raise PeriodError(f"phase {text!r} ends before it starts")
        return Period(text, "phase", date(first, 1, 1), date(last + 1, 1, 1))
    raise PeriodError(
        f"unknown period {text!r}: use a year (2025), a quarter (2025-Q3), "
        f"'{ROLLING_30D}' or a phase (phase-2021-2025)"
    )


def _check_year(year: int, text: str) -> None:
    if not 2000 <= year <= 2100:
        raise PeriodError(f"period {text!r} is outside 2000–2100")
