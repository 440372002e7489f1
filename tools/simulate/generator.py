"""``generate``: a deterministic stream of canonical CloudEvents for a simulated province.

Order of the stream: first the stock history before ``start`` (registry, staff, trainings,
procedures, indicators — so the state at ``start`` is right), then day by day the events the
source systems send that day, shuffled within the day: late arrivals, corrections and resends
make the arrival order differ from event time, as SPEC §4 says it will. For a few weeks after a
unit closes, sources keep sending some of its flows under its old id (SPEC §7.2).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.plans import default_plans
from tools.simulate.flows import unit_day_events
from tools.simulate.model import flow_share, local_midnight, propensities, rng_for
from tools.simulate.registry import RegistryUnit, default_registry
from tools.simulate.stocks import all_stock_events

DEFAULT_SEED = 154  # Kế hoạch 154/KH-UBND
DEFAULT_START = date(2025, 1, 1)


def _as_local(moment: datetime | date) -> datetime:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("naive datetime: give start/end with an offset")
        return moment.astimezone(LOCAL_TZ)
    return local_midnight(moment)


def generate(
    seed: int = DEFAULT_SEED,
    start: datetime | date = DEFAULT_START,
    end: datetime | date | None = None,
    scale: float = 1.0,
    units: Iterable[RegistryUnit] | None = None,
    criteria: CriteriaConfig | None = None,
) -> Iterator[dict[str, Any]]:
    """CloudEvents (dicts) of every SPEC §4 type whose event time is before ``end`` (default
    now); flows only from ``start``. Same arguments → same events in the same order.

    ``scale`` multiplies staff counts and daily event rates (1.0 ≈ 150 events per working
    day over the province's units active that day).
    """
    begin = _as_local(start)
    finish = _as_local(end) if end is not None else datetime.now(LOCAL_TZ)
    if finish <= begin:
        raise ValueError("end must be after start")
    registry = list(units if units is not None else default_registry())
    config = criteria or default_plans().plans[0]
    props = propensities(seed, registry)
    horizon = finish.date()

    stocks: list[tuple[datetime, int, dict[str, Any]]] = []
    for unit in registry:
        for moment, event in all_stock_events(
            seed, unit, props[unit.unit_id], config, scale, horizon
        ):
            if moment < finish:
                stocks.append((moment, len(stocks), event))
    stocks.sort(key=lambda s: (s[0], s[1]))

    before = [e for m, _, e in stocks if m < begin]
    yield from before
    by_day: dict[date, list[dict[str, Any]]] = {}
    for moment, _, event in stocks[len(before) :]:
        by_day.setdefault(moment.date(), []).append(event)

    pending: list[tuple[date, int, dict[str, Any]]] = []  # (send day, tiebreak, event)
    counter = 0
    day = begin.date()
    while day <= finish.date():
        due = by_day.pop(day, [])
        for unit in registry:
            share = flow_share(seed, unit, day)
            if not share:
                continue
            prop = props[unit.unit_id]
            for send_day, event in unit_day_events(seed, unit, prop, day, scale * share):
                if _moment(event) < begin or _moment(event) >= finish:
                    continue
                heapq.heappush(pending, (send_day, counter, event))
                counter += 1
        while pending and pending[0][0] <= day:
            due.append(heapq.heappop(pending)[2])
        rng_for(seed, "send-order", day.isoformat()).shuffle(due)
        yield from due
        day += timedelta(days=1)
    # the stragglers: sent after the range, still about it
    yield from (item[2] for item in sorted(pending))


def _moment(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["time"])
