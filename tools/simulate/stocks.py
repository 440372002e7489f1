"""Stock events of one unit over its lifetime: registry, staff, trainings, procedures,
indicators. Each state change is a new version of the same entity (a correction in SPEC §4
terms), so the stock at any period end is the latest version before it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import EventType, Tier
from tools.simulate.model import (
    Propensity,
    envelope,
    local_midnight,
    office_time,
    rng_for,
)
from tools.simulate.registry import REFORM_DAY, RegistryUnit

Timed = tuple[datetime, dict[str, Any]]

_STAFF_BASE = {Tier.PROVINCE_AGENCY: 40, Tier.DISTRICT: 50, Tier.COMMUNE: 18, Tier.ENTERPRISE: 0}
# (civil_servant, public_employee) shares; the rest are workers
_CATEGORY_SHARES = {
    Tier.PROVINCE_AGENCY: (0.6, 0.3),
    Tier.DISTRICT: (0.55, 0.35),
    Tier.COMMUNE: (0.8, 0.1),
}
# indicator → (denominator range per tier family) ; booleans are 1/1 or 0/1
_INDICATOR_DENOMINATORS: dict[str, tuple[int, int]] = {
    "C08": (8, 15),  # shared databases
    "C09": (5, 12),  # sector databases
    "C10": (4, 10),  # information systems
    "C17": (3_000, 15_000),  # residents
    "C18": (3_000, 15_000),
    "C19": (5_000, 20_000),  # pupils
    "C20": (5, 20),  # main roads
    "C21": (1_000, 5_000),  # households
}


def unit_events(unit: RegistryUnit) -> list[Timed]:
    """One ``unit.upserted`` per registry version at its day: registration, renames and the
    closing (inactive, with its successor)."""
    out: list[Timed] = []
    for n, version in enumerate(unit.versions, start=1):
        data: dict[str, Any] = {
            "unit_id": unit.unit_id,
            "name": version.name,
            "tier": unit.tier.value,
            "parent_id": unit.parent_id,
            "block": version.block,
            "organ_ids": list(unit.organ_ids),
            "successor_id": version.successor_id,
            "active": version.active,
        }
        moment = local_midnight(version.valid_from)
        eid = f"unit-{unit.unit_id}-{n}"
        out.append((moment, envelope(EventType.UNIT_UPSERTED, eid, moment, data)))
    return out


def move_day(rng: random.Random, closing: date) -> date | None:
    """When a closed unit's staff member is moved to the successor's roll: half on the
    closing day, most of the rest within four months, one in ten never (still on the closed
    unit's roll, SPEC §7.2 attributes them to the successor)."""
    roll = rng.random()
    if roll < 0.5:
        return closing
    if roll < 0.9:
        return closing + timedelta(days=rng.randint(1, 120))
    return None


def _at(day: date, rng: random.Random) -> datetime:
    return office_time(rng, day)


def staff_events(seed: int, unit: RegistryUnit, prop: Propensity, scale: float) -> list[Timed]:
    """Staff registered at the unit's start, their digital id, trainings and departures.
    A closed unit's staff move to its successor, some late, some never (:func:`move_day`)."""
    if unit.tier is Tier.ENTERPRISE:
        return []
    rng = rng_for(seed, unit.unit_id, "staff")
    cs_share, pe_share = _CATEGORY_SHARES[unit.tier]
    count = max(3, round(_STAFF_BASE[unit.tier] * scale))
    out: list[Timed] = []
    for n in range(count):
        staff_id = f"{unit.unit_id}-cb{n:04d}"
        roll = rng.random()
        category = (
            "civil_servant"
            if roll < cs_share
            else "public_employee"
            if roll < cs_share + pe_share
            else "worker"
        )
        start = unit.valid_from
        id_day = prop.crossing_day(rng.random())
        basic_day = prop.crossing_day(rng.random())
        analytics_day = prop.crossing_day(rng.random()) if rng.random() < 0.75 else None
        leave_day = (
            start + timedelta(days=rng.randrange(200, 2000)) if rng.random() < 0.05 else None
        )
        state = {
            "staff_id": staff_id,
            "unit_id": unit.unit_id,
            "category": category,
            "digital_id": id_day is not None and id_day <= start,
            "active": True,
        }
        changes: list[tuple[datetime, dict[str, Any]]] = [
            (local_midnight(start) + timedelta(hours=8, minutes=n % 60), {})
        ]
        if id_day is not None and id_day > start:
            changes.append((_at(id_day, rng), {"digital_id": True}))
        if unit.valid_to is not None and unit.successor_id:
            moved = move_day(rng, unit.valid_to)
            if moved is not None:
                changes.append(
                    (_moved_at(moved, unit.valid_to, rng), {"unit_id": unit.successor_id})
                )
        if leave_day is not None:
            changes.append((_at(leave_day, rng), {"active": False}))
        for version, (moment, change) in enumerate(sorted(changes, key=lambda c: c[0]), start=1):
            state = {**state, **change}
            eid = f"staff-{staff_id}-{version}"
            out.append((moment, envelope(EventType.STAFF_UPSERTED, eid, moment, dict(state))))
        if category == "worker":
            continue
        for program, day in (
            ("basic_digital_skills", basic_day),
            ("data_analytics", analytics_day),
        ):
            if day is None:
                continue
            moment = _at(max(day, start), rng)
            eid = f"training-{staff_id}-{program}"
            data = {"staff_id": staff_id, "program": program}
            out.append((moment, envelope(EventType.TRAINING_COMPLETED, eid, moment, data)))
    return out


def _moved_at(day: date, closing: date, rng: random.Random) -> datetime:
    return local_midnight(day) if day == closing else _at(day, rng)


def procedure_events(seed: int, unit: RegistryUnit, prop: Propensity, scale: float) -> list[Timed]:
    """Administrative procedures of a provincial agency becoming full-online, then mobile;
    a closed agency's procedures pass to its successor on the closing day."""
    if unit.tier is not Tier.PROVINCE_AGENCY:
        return []
    rng = rng_for(seed, unit.unit_id, "procedures")
    out: list[Timed] = []
    for n in range(max(5, round(rng.randint(15, 40) * scale))):
        procedure_id = f"{unit.unit_id}-tthc-{n:03d}"
        eligible = rng.random() < 0.8
        online_day = prop.crossing_day(rng.random())
        mobile_day = prop.crossing_day(rng.random())
        if online_day and mobile_day:
            mobile_day = max(online_day, mobile_day)
        state = {
            "procedure_id": procedure_id,
            "unit_id": unit.unit_id,
            "full_online_eligible": eligible,
            "full_online": False,
            "mobile": False,
        }
        steps: list[tuple[date, dict[str, Any]]] = [(unit.valid_from, {})]
        if online_day:
            steps.append((online_day, {"full_online": True}))
            if mobile_day:
                steps.append((mobile_day, {"mobile": True}))
        if unit.valid_to is not None and unit.successor_id:
            steps.append((unit.valid_to, {"unit_id": unit.successor_id}))
            steps.sort(key=lambda step: step[0])
        version, moment = 1, local_midnight(unit.valid_from)
        for day, change in steps:
            day = max(day, unit.valid_from)
            state = {**state, **change}
            # same-day steps keep their order: a later version has a later time
            moment = max(_at(day, rng), moment + timedelta(minutes=1))
            eid = f"procedure-{procedure_id}-{version}"
            out.append((moment, envelope(EventType.PROCEDURE_UPSERTED, eid, moment, dict(state))))
            version += 1
    return out


def _months(first: date, last: date) -> Iterator[date]:
    day = date(first.year, first.month, 5)
    if day < first:
        day = _next_month(day)
    while day <= last:
        yield day
        day = _next_month(day)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, day.day)


def indicator_events(
    seed: int, unit: RegistryUnit, prop: Propensity, criteria: CriteriaConfig, horizon: date
) -> list[Timed]:
    """Monthly observations (5th of the month) of the unit's indicator criteria; about one in
    twenty is corrected two hours later with the right figure."""
    rng = rng_for(seed, unit.unit_id, "indicators")
    last = min(horizon, unit.valid_to - timedelta(days=1) if unit.valid_to else horizon)
    out: list[Timed] = []
    for criterion in criteria.for_tier(unit.tier):
        if criterion.source != "indicator":
            continue
        # booleans are all-or-nothing: skew their thresholds up so fewer units tick them
        threshold = rng.uniform(0.5, 1.0) if criterion.boolean else rng.random()
        low, high = _INDICATOR_DENOMINATORS.get(criterion.id, (1, 1))
        den = rng.randint(low, high)
        if unit.tier is Tier.DISTRICT and den > 100:
            den *= 8  # a district counts several communes' residents
        for day in _months(unit.valid_from, last):
            q = prop.quality(day)
            if criterion.boolean:
                num, den_obs = (1 if q >= threshold else 0), 1
            else:
                num, den_obs = min(den, int(den * q)), den
            moment = _at(day, rng)
            key = f"indicator-{unit.unit_id}-{criterion.id}-{day:%Y%m}"
            data = {
                "unit_id": unit.unit_id,
                "indicator": criterion.id,
                "numerator": num,
                "denominator": den_obs,
            }
            if rng.random() < 0.05 and num > 0:
                typo = {
                    **data,
                    "numerator": num - 1 if den_obs == 1 else max(0, num - rng.randint(1, num)),
                }
                out.append((moment, envelope(EventType.INDICATOR_OBSERVED, key, moment, typo)))
                moment, key = moment + timedelta(hours=2), key + "-fix"
            out.append((moment, envelope(EventType.INDICATOR_OBSERVED, key, moment, data)))
    return out


def all_stock_events(
    seed: int,
    unit: RegistryUnit,
    prop: Propensity,
    criteria: CriteriaConfig,
    scale: float,
    horizon: date,
) -> list[Timed]:
    events = unit_events(unit)
    events += staff_events(seed, unit, prop, scale)
    events += procedure_events(seed, unit, prop, scale)
    events += indicator_events(seed, unit, prop, criteria, horizon)
    return events


__all__ = ["REFORM_DAY", "all_stock_events"]
