"""Units over time (SPEC §7.2): the registry's versions as a timeline, pure.

Counters are kept per local day, so the registry is read at day resolution, like every stock:
a unit's state *on day D* is its latest version (by ``(time, seq)``) whose local day is ≤ D
(the state at the end of D). Every period starts at a local midnight, so the state at a
period's end is exact; a closing at any other instant takes effect for the whole of its day
(docs/DESIGN.md, "Units over time").

From the timeline:
- ``owner(unit, day)``: whom the unit's data counts for on that day — itself, or, when it is
  closed that day and names a successor, the successor's owner (transitively);
- ``standings(period)``: every unit registered by the period's end, as it stood at the period's
  end or, for a unit that closed inside the period, on its last active day; whether it is ranked
  (active on at least one day of the period), its ``closed_at`` and the day its stocks are read at.

The streaming read (``thidua.store.kpi``) and the batch recompute both build one from the raw
registry versions (each with its own query) and apply it to their own measures.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from thidua.contracts.periods import LOCAL_TZ, Period
from thidua.contracts.scorecard import UnitInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class UnitVersion:
    """One accepted ``vn.thidua.unit.upserted``: its time (UTC µs), acceptance order, data."""

    time_us: int
    seq: int
    info: UnitInfo

    @property
    def time(self) -> datetime:
        return (_EPOCH + timedelta(microseconds=self.time_us)).astimezone(LOCAL_TZ)

    @property
    def day(self) -> date:
        return self.time.date()


@dataclass(frozen=True, slots=True)
class Standing:
    """A unit in one period: as shown, ranked or not, and the day (exclusive) its stocks,
    staff and name are read at — the period's end, or its closing day."""

    info: UnitInfo
    ranked: bool
    until: date


class _Timeline:
    """One unit: its versions in (time, seq) order and its state on each day it changes."""

    def __init__(self, versions: list[UnitVersion]) -> None:
        self.versions = sorted(versions, key=lambda v: (v.time_us, v.seq))
        last_of_day: dict[date, int] = {}
        for index, version in enumerate(self.versions):
            last_of_day[version.day] = index
        self.days = sorted(last_of_day)
        self.states = [self.versions[last_of_day[day]] for day in self.days]

    def index_on(self, day: date) -> int:
        """Index in ``days``/``states`` of the state on ``day``; -1 before the first."""
        return bisect_right(self.days, day) - 1

    def state(self, day: date) -> UnitInfo | None:
        index = self.index_on(day)
        return self.states[index].info if index >= 0 else None

    def closing(self, state_index: int) -> UnitVersion:
        """The version that closed the unit, for the inactive state at ``state_index``
        following an active one: the first of the inactive versions after the last active."""
        position = self.versions.index(self.states[state_index])
        while position > 0 and not self.versions[position - 1].info.active:
            position -= 1
        return self.versions[position]


class Registry:
    def __init__(self, versions: Iterable[UnitVersion]) -> None:
        by_unit: dict[str, list[UnitVersion]] = {}
        for version in versions:
            by_unit.setdefault(version.info.unit_id, []).append(version)
        self._units = {unit_id: _Timeline(vs) for unit_id, vs in by_unit.items()}
        self._owners: dict[tuple[str, date], str] = {}

    def units(self) -> list[str]:
        return sorted(self._units)

    def state(self, unit_id: str, day: date) -> UnitInfo | None:
        timeline = self._units.get(unit_id)
        return timeline.state(day) if timeline else None

    def owner(self, unit_id: str, day: date) -> str:
        """Whom ``unit_id``'s data of ``day`` counts for (SPEC §7.2, attribution): followed
        through successors while each is closed that day and names one; a cycle of successors
        leaves the data with the unit it started from."""
        key = (unit_id, day)
        found = self._owners.get(key)
        if found is None:
            found = unit_id
            seen = {unit_id}
            state = self.state(unit_id, day)
            while state is not None and not state.active and state.successor_id:
                successor = state.successor_id
                if successor in seen:
                    found = unit_id
                    break
                seen.add(successor)
                found = successor
                state = self.state(successor, day)
            self._owners[key] = found
        return found

    def change_days(self) -> list[date]:
        """Days on which some unit's (active, successor) changes: between two consecutive
        ones, every owner and every closing stays the same."""
        days = set()
        for timeline in self._units.values():
            before: tuple[bool, str | None] | None = None
            for day, version in zip(timeline.days, timeline.states, strict=True):
                now = (version.info.active, version.info.successor_id)
                if now != before:
                    days.add(day)
                before = now
        return sorted(days)

    def ownership_intervals(self) -> list[tuple[str, date, date, str]]:
        """(unit, first day, day after, owner) for every run of days on which a unit's data
        counts for another unit (the last run ends on ``date.max``)."""
        days = self.change_days()
        runs: list[tuple[str, date, date, str]] = []
        for unit_id in sorted(self._units):
            for first, until in zip(days, [*days[1:], date.max], strict=True):
                owner = self.owner(unit_id, first)
                if owner == unit_id:
                    continue
                last = runs[-1] if runs else None
                if last and last[0] == unit_id and last[2] == first and last[3] == owner:
                    runs[-1] = (unit_id, last[1], until, owner)
                else:
                    runs.append((unit_id, first, until, owner))
        return runs

    def standing(self, unit_id: str, period: Period) -> Standing | None:
        """The unit in ``period``; None when it is not registered by the period's end."""
        timeline = self._units.get(unit_id)
        last_day = period.end_day - timedelta(days=1)
        if timeline is None or (last := timeline.index_on(last_day)) < 0:
            return None
        at_end = timeline.states[last].info
        if at_end.active:
            return Standing(at_end, True, period.end_day)
        # The latest active state before the period's end, if it reaches into the period.
        index = last
        while index >= 0 and not timeline.states[index].info.active:
            index -= 1
        closed_on = timeline.days[index + 1]
        if index < 0 or closed_on <= period.start_day:
            return Standing(at_end, False, period.end_day)
        closing = timeline.closing(index + 1)
        shown = replace(
            timeline.states[index].info,
            closed_at=closing.time,
            successor_id=at_end.successor_id,
        )
        return Standing(shown, True, closed_on)

    def standings(self, period: Period) -> dict[str, Standing]:
        found = {}
        for unit_id in self._units:
            standing = self.standing(unit_id, period)
            if standing is not None:
                found[unit_id] = standing
        return found
