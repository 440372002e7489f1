"""Pure scoring logic: no Faust, no Kafka (STYLE: processors are pure functions).

``apply(state, event)`` adds an event to its entity's versions and returns the change of the
entity's ``contribution`` to the per-day counters; ``fold`` runs a whole event list through it.
"""

from __future__ import annotations

from collections.abc import Iterable

from thidua.contracts.events import CanonicalEvent

from .measures import (
    Contribution,
    CounterKey,
    Number,
    add_into,
    advance,
    apply,
    contribution,
    difference,
    exact,
    local_day,
    version_measures,
)
from .state import Completion, EntityState, Version

__all__ = [
    "Completion",
    "Contribution",
    "CounterKey",
    "EntityState",
    "Number",
    "Version",
    "add_into",
    "advance",
    "apply",
    "contribution",
    "difference",
    "exact",
    "fold",
    "local_day",
    "version_measures",
]


def fold(
    events: Iterable[CanonicalEvent], *, indicator_ids: frozenset[str]
) -> dict[CounterKey, Number]:
    """The counters a stream of events leads to (zeros dropped): the reference the workers
    are checked against."""
    states: dict[str, EntityState | None] = {}
    counters: dict[CounterKey, Number] = {}
    for event in events:
        key = event.entity_key
        states[key], delta = apply(states.get(key), event, indicator_ids=indicator_ids)
        add_into(counters, delta)
    return {key: value for key, value in counters.items() if value != 0}
