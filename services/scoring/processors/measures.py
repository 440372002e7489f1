"""From an entity's versions to its contribution to the per-day counters (docs/DESIGN.md).

A contribution maps ``(unit_id, measure, local_day)`` to a number. Summing contributions of
all entities gives the counters: flows are summed over the days inside a period, stocks over
the days before its end (so stocks are stored as deltas on the days their state changes).

Numbers are exact: ``int`` for counts, :class:`~decimal.Decimal` for an indicator's
non-integral figures (its JSON text, not a binary float), so counters never drift and the
result does not depend on the order deltas were added in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any, Protocol

from thidua.contracts.criteria import indicator_measures
from thidua.contracts.events import (
    CanonicalEvent,
    EventType,
    Program,
    StaffCategory,
    to_utc_micros,
)
from thidua.contracts.index766 import dossier_measures
from thidua.contracts.measures import FLOW_TYPES, STOCK_TYPES
from thidua.contracts.periods import LOCAL_TZ
from thidua.decode import validated_data

from .state import FIELDS, Completion, EntityState, Version

Number = int | Decimal
CounterKey = tuple[str, str, str]  # (unit_id, measure, day as YYYY-MM-DD)
Contribution = dict[CounterKey, Number]

_CBCCVC = frozenset({StaffCategory.CIVIL_SERVANT.value, StaffCategory.PUBLIC_EMPLOYEE.value})
_TRAINED = {p.value: f"cbccvc_trained_{p.value}" for p in Program}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000
# Every type's measure fields out of its data, as a tuple (all types have two or more).
_FIELD_GETTERS: dict[EventType, Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {
    event_type: itemgetter(*names) for event_type, names in FIELDS.items()
}


def _dossier_fields(data: Mapping[str, Any]) -> tuple[Any, ...]:
    """A dossier's fields; the optional 766 ones only when one is set, so a plain dossier's
    version (and the state on the changelog) stays as small as before they existed."""
    extra = (data.get("on_time"), data.get("digitised"), data.get("paid_online"))
    if extra == (None, None, None):
        return (data["unit_id"], data["channel"])
    return (data["unit_id"], data["channel"], *extra)


_FIELD_GETTERS[EventType.DOSSIER_RECEIVED] = _dossier_fields


def local_day(time_us: int) -> str:
    """The Asia/Ho_Chi_Minh calendar day of an instant (UTC microseconds), as YYYY-MM-DD."""
    day = _local_day_of_hour(time_us // _HOUR_US)
    if day is not None:
        return day
    moment = _EPOCH + timedelta(microseconds=time_us)
    return moment.astimezone(LOCAL_TZ).date().isoformat()


@lru_cache(maxsize=65_536)
def _local_day_of_hour(hour: int) -> str | None:
    """The local day of a whole UTC hour, when the hour does not straddle a local midnight."""
    first = _EPOCH + timedelta(hours=hour)
    last = first + timedelta(microseconds=_HOUR_US - 1)
    a, b = first.astimezone(LOCAL_TZ).date(), last.astimezone(LOCAL_TZ).date()
    return a.isoformat() if a == b else None


def exact(value: Any) -> Number:
    """An event's number as an exact value: ints stay ints, 0.85 becomes Decimal('0.85')."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, Decimal):
        return normalise(value)
    raise TypeError(f"not a number: {value!r}")


def normalise(value: Number) -> Number:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def version_measures(
    event_type: EventType, fields: tuple[Any, ...]
) -> tuple[str, dict[str, Number]]:
    """(unit_id, {measure: value}) of one version taken alone; zero values left out.

    For staff these are the untrained measures; training is added by :func:`contribution`.
    """
    unit, items = _version_measures(event_type, fields)
    return unit, dict(items)


Measures = tuple[tuple[str, Number], ...]


def _measures_of(event_type: EventType, fields: tuple[Any, ...]) -> tuple[str, Measures]:
    names = FIELDS[event_type]
    if len(fields) < len(names):  # a dossier without its optional fields
        fields = (*fields, *(None,) * (len(names) - len(fields)))
    f = dict(zip(names, fields, strict=True))
    match event_type:
        case EventType.DOSSIER_RECEIVED:
            return f["unit_id"], _ones(
                dossier_received=True,
                dossier_online_full=f["channel"] == "online_full",
                **dossier_measures(f["on_time"], f["digitised"], f["paid_online"]),
            )
        case EventType.DOSSIER_RATED:
            return f["unit_id"], _ones(rating=True, rating_satisfied=f["satisfied"])
        case EventType.DOCUMENT_SENT:
            counted = not f["confidential"]
            return f["from_unit"], _ones(
                document_non_confidential=counted,
                document_electronic_signed=counted and f["electronic"] and f["digitally_signed"],
            )
        case EventType.WORKFILE_CLOSED:
            counted = not f["secret"]
            online = counted and f["online"]
            return f["unit_id"], _ones(
                workfile_non_secret=counted,
                workfile_online=online,
                workfile_online_signed=online and f["digitally_signed"],
            )
        case EventType.REPORT_SUBMITTED:
            return f["unit_id"], _ones(report=True, report_via_shared_system=f["via_shared_system"])
        case EventType.INSPECTION_COMPLETED:
            return f["unit_id"], _ones(inspection=True, inspection_digital=f["digital"])
        case EventType.PROCEDURE_UPSERTED:
            eligible = f["full_online_eligible"]
            full = eligible and f["full_online"]
            return f["unit_id"], _ones(
                procedure_eligible=eligible,
                procedure_eligible_full_online=full,
                procedure_eligible_full_online_mobile=full and f["mobile"],
            )
        case EventType.STAFF_UPSERTED:
            civil_servant = f["active"] and f["category"] == StaffCategory.CIVIL_SERVANT.value
            return f["unit_id"], _ones(
                civil_servant_active=civil_servant,
                civil_servant_digital_id=civil_servant and f["digital_id"],
                cbccvc_active=f["active"] and f["category"] in _CBCCVC,
            )
        case EventType.INDICATOR_OBSERVED:
            numerator, denominator = indicator_measures(f["indicator"])
            values = ((numerator, exact(f["numerator"])), (denominator, exact(f["denominator"])))
            return f["unit_id"], tuple((m, v) for m, v in values if v != 0)
    raise ValueError(f"{event_type.value} has no measures")


# Most versions share a handful of field combinations (unit, channel, flags): a version's
# measures are computed once per combination. (Equal numbers of other types, 1, 1.0 and True,
# are one key to the cache; ``exact`` makes the same number of each.)
_version_measures = lru_cache(maxsize=16_384)(_measures_of)


def _ones(**flags: bool) -> Measures:
    return tuple((measure, 1) for measure, on in flags.items() if on)


def contribution(state: EntityState | None) -> Contribution:
    """What the entity adds to the counters (see module docstring and docs/DESIGN.md)."""
    if state is None or state.type is None or not state.versions:
        return {}
    if state.type in FLOW_TYPES or (len(state.versions) == 1 and not state.completions):
        # A flow counts its winner on its day; a stock with one version and no training
        # changes once, on that version's day.
        winner = state.versions[-1]
        unit, items = _version_measures(state.type, winner.fields)
        day = local_day(winner.time_us)
        return {(unit, measure, day): value for measure, value in items}
    return _stock_contribution(state)


@lru_cache(maxsize=65_536)
def _first_contribution(event_type: EventType, fields: tuple[Any, ...], day: str) -> Contribution:
    """``contribution`` of an entity's first version, whatever its type (a stock's one version
    changes once, on its day), for each field combination and day. One dict for many
    entities: callers never change a contribution in place (they copy, as ``_added`` does)."""
    unit, items = _version_measures(event_type, fields)
    return {(unit, measure, day): value for measure, value in items}


def _stock_contribution(state: EntityState) -> Contribution:
    """Deltas on each local day the state changes; their running sum is the state at a day's end."""
    assert state.type is not None
    trained_from = _earliest_completion_days(state.completions)
    changes: dict[str, Version | None] = {}  # day → version in force at the day's end
    for version in state.versions:  # sorted: the last one of a day stays
        changes[local_day(version.time_us)] = version
    days = sorted({*changes, *trained_from.values()})

    result: Contribution = {}
    previous: dict[tuple[str, str], Number] = {}
    in_force: Version | None = None
    for day in days:
        in_force = changes.get(day, in_force)
        current = _stock_values(state.type, in_force, trained_from, day)
        for unit_measure in previous.keys() | current.keys():
            delta = current.get(unit_measure, 0) - previous.get(unit_measure, 0)
            if delta != 0:
                result[(*unit_measure, day)] = normalise(delta)
        previous = current
    return result


def _stock_values(
    event_type: EventType, version: Version | None, trained_from: Mapping[str, str], day: str
) -> dict[tuple[str, str], Number]:
    if version is None:
        return {}  # training before the staff member registers counts from registration
    unit, values = version_measures(event_type, version.fields)
    if event_type is EventType.STAFF_UPSERTED and values.get("cbccvc_active"):
        for program, first_day in trained_from.items():
            if first_day <= day:
                values[_TRAINED[program]] = 1
    return {(unit, measure): value for measure, value in values.items()}


def _earliest_completion_days(completions: Iterable[Completion]) -> dict[str, str]:
    first: dict[str, str] = {}
    for completion in completions:  # sorted by (time, seq): the first one of a program stays
        first.setdefault(completion.program, local_day(completion.time_us))
    return first


def apply(
    state: EntityState | None,
    event: CanonicalEvent,
    *,
    indicator_ids: frozenset[str],
) -> tuple[EntityState | None, Contribution]:
    """Add ``event`` to its entity's state; returns the new state and the counters' delta.

    Raises ``ValueError`` (pydantic's ValidationError included) for an event whose data does
    not match its type: the caller sends it to the dead-letter topic.
    """
    after, _, delta = advance(state, None, event, indicator_ids=indicator_ids)
    return after, delta


class EventLike(Protocol):
    """What :func:`advance` reads of an event: a ``CanonicalEvent``, or scoring's
    ``decode.Envelope`` with the data validated beside it."""

    @property
    def type(self) -> EventType: ...
    @property
    def time(self) -> datetime: ...
    @property
    def seq(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def id(self) -> str: ...


def advance(
    state: EntityState | None,
    known: Contribution | None,
    event: EventLike,
    *,
    indicator_ids: frozenset[str],
    data: dict[str, Any] | None = None,
) -> tuple[EntityState | None, Contribution | None, Contribution]:
    """:func:`apply` for a caller that remembers contributions: ``known`` is
    ``contribution(state)`` when the caller has it (None: not known). Returns the new state,
    its contribution (None only when the state did not change and ``known`` was None) and
    the counters' delta. ``data``: the event's data validated already (``decode``)."""
    if data is None:
        if not isinstance(event, CanonicalEvent):
            raise TypeError("advance needs the data of an event that is not a CanonicalEvent")
        data = validated_data(event)
    if event.type is EventType.UNIT_UPSERTED:
        return state, known, {}  # the registry is read from events_raw, not from counters
    if event.type is EventType.INDICATOR_OBSERVED and data["indicator"] not in indicator_ids:
        return state, known, {}
    time_us = to_utc_micros(event.time)
    version: Version | None = None
    if event.type is EventType.TRAINING_COMPLETED:
        before = state or EntityState()
        after = before.with_completion(
            Completion(data["program"], time_us, event.seq, event.source, event.id)
        )
    else:
        fields = _FIELD_GETTERS[event.type](data)
        version = Version(time_us, event.seq, event.source, event.id, fields)
        if state is None:
            # A new entity (most events: each dossier, document, work file is one): its one
            # version's contribution is the delta (one dict, shared: see _first_contribution).
            after = EntityState(event.type, (version,))
            new = _first_contribution(event.type, fields, local_day(time_us))
            return after, new, new
        before = state
        after = before.with_version(event.type, version)
    if after is before:
        return state, known, {}
    if known is not None and before.versions:
        if after.type in FLOW_TYPES and after.versions[-1] is before.versions[-1]:
            return after, known, {}  # a flow counts its winner only, and the winner stands
        if (
            after.type in STOCK_TYPES
            and len(after.versions) == len(before.versions) + 1
            and after.versions[-1] is version
            and not after.completions
        ):
            delta = _appended_stock_delta(after.type, before.versions[-1], version)
            return after, _added(known, delta), delta
    new = contribution(after)
    return after, new, difference(new, contribution(state) if known is None else known)


def _appended_stock_delta(event_type: EventType, last: Version, new: Version) -> Contribution:
    """A stock's change when ``new`` follows every version it had (``last`` the latest) and no
    training is involved: the state in force from ``new``'s day on moves from ``last``'s
    values to ``new``'s. (On ``last``'s own day ``new`` replaces it: the same change.)"""
    day = local_day(new.time_us)
    unit, values = _version_measures(event_type, new.fields)
    old_unit, old_values = _version_measures(event_type, last.fields)
    return difference(
        {(unit, m, day): v for m, v in values}, {(old_unit, m, day): v for m, v in old_values}
    )


def _added(known: Contribution, delta: Contribution) -> Contribution:
    """``known + delta`` with the zero entries dropped."""
    total = dict(known)
    add_into(total, delta)
    return {key: value for key, value in total.items() if value != 0}


def difference(new: Mapping[CounterKey, Number], old: Mapping[CounterKey, Number]) -> Contribution:
    """``new - old`` with the zero entries dropped."""
    delta: Contribution = {}
    for key in new.keys() | old.keys():
        value = new.get(key, 0) - old.get(key, 0)
        if value != 0:
            delta[key] = normalise(value)
    return delta


def add_into(counters: dict[CounterKey, Number], delta: Mapping[CounterKey, Number]) -> None:
    """Add ``delta`` into ``counters`` in place (zeros are kept: a counter back to 0 exists)."""
    for key, value in delta.items():
        counters[key] = normalise(counters.get(key, 0) + value)
