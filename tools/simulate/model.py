"""The simulation's building blocks: per-unit propensities, clocks, CloudEvent envelopes.

Every random draw comes from a ``random.Random`` seeded by a string naming what is drawn
(seed, unit, day…), so a unit's history does not depend on the time range asked for: the
batch feed and a later live feed agree on every event id and content.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from thidua.contracts.events import EventType
from thidua.contracts.periods import LOCAL_TZ
from tools.simulate.registry import RegistryUnit

SPECVERSION = "1.0"
PLAN_START = date(2021, 1, 1)
EXCELLENCE_DAY = date(2024, 12, 31)  # award-grade units meet every target all through 2025
PLAN_END = date(2025, 12, 31)

# One source system per family of events; ingest binds a token to each.
SOURCES: dict[str, str] = {
    "registry": "urn:thidua:tuyen-quang:registry",
    "dvc": "urn:thidua:tuyen-quang:dvc",
    "edoc": "urn:thidua:tuyen-quang:edoc",
    "lms": "urn:thidua:tuyen-quang:lms",
    "indicator": "urn:thidua:tuyen-quang:indicators",
}

SOURCE_OF_TYPE: dict[EventType, str] = {
    EventType.UNIT_UPSERTED: SOURCES["registry"],
    EventType.STAFF_UPSERTED: SOURCES["registry"],
    EventType.PROCEDURE_UPSERTED: SOURCES["dvc"],
    EventType.DOSSIER_RECEIVED: SOURCES["dvc"],
    EventType.DOSSIER_RATED: SOURCES["dvc"],
    EventType.DOCUMENT_SENT: SOURCES["edoc"],
    EventType.WORKFILE_CLOSED: SOURCES["edoc"],
    EventType.REPORT_SUBMITTED: SOURCES["edoc"],
    EventType.INSPECTION_COMPLETED: SOURCES["edoc"],
    EventType.TRAINING_COMPLETED: SOURCES["lms"],
    EventType.INDICATOR_OBSERVED: SOURCES["indicator"],
}


def rng_for(*parts: object) -> random.Random:
    """A generator seeded by the names of what it draws (str seeds hash deterministically)."""
    return random.Random(":".join(str(p) for p in parts))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation keeps large rates cheap
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def office_time(rng: random.Random, day: date) -> datetime:
    """A moment in office hours (07:30–17:00 local) of ``day``."""
    return local_midnight(day) + timedelta(seconds=27_000 + rng.randrange(34_200))


def iso(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def envelope(
    event_type: EventType, event_id: str, moment: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """A structured-mode CloudEvent (SPEC §4)."""
    return {
        "specversion": SPECVERSION,
        "id": event_id,
        "source": SOURCE_OF_TYPE[event_type],
        "type": event_type.value,
        "time": iso(moment),
        "datacontenttype": "application/json",
        "data": data,
    }


@dataclass(frozen=True, slots=True)
class Propensity:
    """How well a unit does: quality rises linearly from ``base`` (2021) to ``final``.

    Award-grade units (``excellent``) reach 1.0 by mid-2025, so the annual 2025 review has
    units meeting every criterion; the others spread out and rank differently.
    """

    base: float
    final: float
    excellent: bool

    @property
    def _reach_day(self) -> date:
        return EXCELLENCE_DAY if self.excellent else PLAN_END

    def quality(self, day: date) -> float:
        span = (self._reach_day - PLAN_START).days
        f = min(max((day - PLAN_START).days / span, 0.0), 1.0)
        return self.base + (self.final - self.base) * f

    def crossing_day(self, threshold: float) -> date | None:
        """The first day quality reaches ``threshold`` (None: never)."""
        if threshold <= self.base:
            return PLAN_START
        if threshold > self.final:
            return None
        f = (threshold - self.base) / (self.final - self.base)
        return PLAN_START + timedelta(days=math.ceil(f * (self._reach_day - PLAN_START).days))


EXCELLENT_SHARE = 0.2
LAG_WEEKS = (2, 6)
LAG_SHARE = 0.2  # of a closed unit's usual flows, still sent under its id while sources lag


def lag_end(seed: int, unit: RegistryUnit) -> date | None:
    """Until when (exclusive) source systems still send a closed unit's id: 2–6 weeks after
    its closing, drawn per unit (SPEC §7.2: sources lag behind reforms)."""
    if unit.valid_to is None:
        return None
    return unit.valid_to + timedelta(weeks=rng_for(seed, unit.unit_id, "lag").randint(*LAG_WEEKS))


def flow_share(seed: int, unit: RegistryUnit, day: date) -> float:
    """The share of a unit's usual daily flows sent under its id on ``day``: all while it is
    active, :data:`LAG_SHARE` while sources lag after its closing, else none."""
    if unit.active_on(day):
        return 1.0
    end = lag_end(seed, unit)
    if unit.valid_to is not None and end is not None and unit.valid_to <= day < end:
        return LAG_SHARE
    return 0.0


def propensity(seed: int, unit_id: str, excellent: bool) -> Propensity:
    rng = rng_for(seed, unit_id, "propensity")
    if excellent:
        return Propensity(base=rng.uniform(0.7, 0.85), final=1.0, excellent=True)
    base = rng.uniform(0.3, 0.7)
    return Propensity(base=base, final=rng.uniform(max(base, 0.6), 0.97), excellent=False)


def propensities(seed: int, units: Iterable[RegistryUnit]) -> dict[str, Propensity]:
    """Every unit's propensity; a fifth of each tier (at least one) is award-grade, chosen
    by the seed, so every tier's ranking has a top to reach."""
    by_tier: dict[str, list[str]] = {}
    for unit in units:
        by_tier.setdefault(unit.tier.value, []).append(unit.unit_id)
    out: dict[str, Propensity] = {}
    for ids in by_tier.values():
        order = sorted(ids, key=lambda u: rng_for(seed, u, "excellence").random())
        best = set(order[: max(1, round(EXCELLENT_SHARE * len(ids)))])
        out.update({u: propensity(seed, u, u in best) for u in ids})
    return out
