"""Live mode: today's events, happening now, so the dashboard's rankings move.

Each unit's quality follows its propensity plus a *mood* redrawn every few minutes, so a
unit's recent events push its rolling-30d score up or down for a while.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from thidua.contracts.events import EventType
from thidua.contracts.periods import LOCAL_TZ
from tools.simulate.flows import BUILDERS, RATES, _Day
from tools.simulate.model import envelope, propensities, rng_for
from tools.simulate.registry import RegistryUnit, default_registry

MOOD_SECONDS = 180
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(LOCAL_TZ)


def live_events(
    seed: int,
    units: Iterable[RegistryUnit] | None = None,
    clock: Clock = _now,
    run_id: str | None = None,
) -> Iterator[dict[str, Any]]:
    """An endless stream of flow events timed ``clock()`` (ids unique to ``run_id``)."""
    run = run_id or f"{int(time.time() * 1000):x}"
    rng = rng_for(seed, "live", run)
    registry = list(units if units is not None else default_registry())
    props = propensities(seed, registry)
    n = 0
    while True:
        now = clock()
        active = [u for u in registry if u.active_on(now.date()) and any(RATES[u.tier])]
        if not active:
            raise ValueError(f"no unit is active on {now.date()}")
        unit = rng.choices(active, weights=[sum(RATES[u.tier]) for u in active])[0]
        mood = rng_for(seed, unit.unit_id, "mood", int(now.timestamp()) // MOOD_SECONDS).uniform(
            -0.35, 0.2
        )
        q = min(1.0, max(0.0, props[unit.unit_id].quality(now.date()) + mood))
        build = rng.choices(BUILDERS, weights=RATES[unit.tier])[0]
        out = _Day(rng, now.date(), clock=lambda moment=now: moment)  # type: ignore[misc]
        build(out, unit, q, f"live-{run}-{n:07d}")
        n += 1
        for _, event in out.items:
            yield event
        if n % 500 == 0:  # now and then a fresh indicator figure
            yield _indicator_now(unit, now, run, n, q)


def _indicator_now(unit: RegistryUnit, now: datetime, run: str, n: int, q: float) -> dict[str, Any]:
    indicator = {"province_agency": "C09", "district": "C08", "commune": "C21"}.get(
        unit.tier.value, "E01"
    )
    den = 1 if indicator == "E01" else 100
    data = {
        "unit_id": unit.unit_id,
        "indicator": indicator,
        "numerator": round(den * q) if den > 1 else int(q > 0.8),
        "denominator": den,
    }
    return envelope(EventType.INDICATOR_OBSERVED, f"live-{run}-ind{n}", now, data)
