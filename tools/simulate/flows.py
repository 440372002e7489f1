"""Flow events of one unit on one day: dossiers and their ratings, documents, work files,
reports, inspections — with the disorder real source systems show: corrections (a newer
version of the same dossier / document / work file), resends (the same CloudEvent again) and
late arrivals (sent days after their event time).

Each item is ``(emit_day, event)``: the day the source system gets round to sending it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from thidua.contracts.events import EventType, Tier
from tools.simulate.model import Propensity, envelope, office_time, poisson, rng_for
from tools.simulate.registry import RegistryUnit

Scheduled = tuple[date, dict[str, Any]]

# Mean events per working day at scale 1: dossiers, documents, work files, reports, inspections.
RATES: dict[Tier, tuple[float, float, float, float, float]] = {
    Tier.PROVINCE_AGENCY: (6.0, 4.0, 4.0, 0.4, 0.15),
    Tier.DISTRICT: (5.0, 3.0, 3.0, 0.3, 0.1),
    Tier.COMMUNE: (1.2, 0.0, 0.8, 0.0, 0.0),
    Tier.ENTERPRISE: (0.0, 0.0, 0.0, 0.0, 0.0),
}
RATED_SHARE = 0.6
CORRECTED_SHARE = 0.03
RESENT_SHARE = 0.01
LATE_SHARE = 0.05
_CHANNELS_OTHER = ("online_partial", "direct", "postal")


class _Day:
    """Collects one unit-day's events with their send days."""

    def __init__(
        self, rng: random.Random, day: date, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.rng = rng
        self.day = day
        self.clock = clock  # live mode: events happen now and are sent at once
        self.items: list[Scheduled] = []

    def when(self) -> datetime:
        return self.clock() if self.clock else office_time(self.rng, self.day)

    def emit(self, kind: EventType, eid: str, moment: datetime, data: dict[str, Any]) -> None:
        event = envelope(kind, eid, moment, data)
        send = max(moment.date(), self.day)
        if self.clock is None and self.rng.random() < LATE_SHARE:
            send += timedelta(days=self.rng.randint(1, 10))
        self.items.append((send, event))
        if self.rng.random() < RESENT_SHARE:
            self.items.append((send + timedelta(days=self.rng.randint(0, 3)), event))

    def correct(
        self, kind: EventType, eid: str, moment: datetime, data: dict[str, Any], fix: dict[str, Any]
    ) -> None:
        """Send a first version, then sometimes a corrected newer one (later ``time``)."""
        if self.rng.random() < CORRECTED_SHARE:
            delta = timedelta(minutes=self.rng.randint(10, 2 * 24 * 60))
            if self.clock is not None:  # live: the wrong version was sent a while ago
                delta = min(delta, timedelta(hours=1))
                moment -= delta
            self.emit(kind, eid, moment, {**data, **fix})
            self.emit(kind, eid + "-v2", moment + delta, data)
        else:
            self.emit(kind, eid, moment, data)


def unit_day_events(
    seed: int, unit: RegistryUnit, prop: Propensity, day: date, scale: float
) -> list[Scheduled]:
    dossiers, documents, workfiles, reports, inspections = RATES[unit.tier]
    if not any((dossiers, documents, workfiles, reports, inspections)):
        return []
    rng = rng_for(seed, unit.unit_id, day.isoformat())
    factor = scale * (1.0 if day.weekday() < 5 else 0.1)
    q = day_quality(seed, unit, prop, day)
    out = _Day(rng, day)
    stamp = f"{unit.unit_id}-{day:%Y%m%d}"
    for kind, rate in zip(BUILDERS, RATES[unit.tier], strict=True):
        for n in range(poisson(rng, rate * factor)):
            kind(out, unit, q, f"{stamp}-{n:03d}")
    return out.items


def day_quality(seed: int, unit: RegistryUnit, prop: Propensity, day: date) -> float:
    # a weekly wobble makes short windows (rolling-30d) move while the trend holds
    wobble = rng_for(seed, unit.unit_id, day.isocalendar()[:2]).uniform(-0.08, 0.05)
    return min(1.0, max(0.0, prop.quality(day) + (0.0 if prop.excellent else wobble)))


def document(out: _Day, unit: RegistryUnit, q: float, key: str) -> None:
    rng = out.rng
    eid = f"vb-{key}"
    ok = rng.random() < q
    data = {
        "document_id": eid,
        "from_unit": unit.unit_id,
        "to_units": ["tq-vp-ubnd"] if unit.unit_id != "tq-vp-ubnd" else ["tq-so-noi-vu"],
        "electronic": ok or rng.random() < 0.5,
        "digitally_signed": ok,
        "confidential": rng.random() < 0.03,
    }
    out.correct(
        EventType.DOCUMENT_SENT, f"doc-{eid}", out.when(), data, {"digitally_signed": False}
    )


def workfile(out: _Day, unit: RegistryUnit, q: float, key: str) -> None:
    rng = out.rng
    eid = f"hscv-{key}"
    online = rng.random() < q
    data = {
        "workfile_id": eid,
        "unit_id": unit.unit_id,
        "online": online,
        "digitally_signed": online and rng.random() < q,
        "secret": rng.random() < 0.02,
    }
    out.correct(EventType.WORKFILE_CLOSED, f"wf-{eid}", out.when(), data, {"online": not online})


def report(out: _Day, unit: RegistryUnit, q: float, key: str) -> None:
    eid = f"bc-{key}"
    data = {"report_id": eid, "unit_id": unit.unit_id, "via_shared_system": out.rng.random() < q}
    out.emit(EventType.REPORT_SUBMITTED, f"report-{eid}", out.when(), data)


def inspection(out: _Day, unit: RegistryUnit, q: float, key: str) -> None:
    eid = f"kt-{key}"
    data = {"inspection_id": eid, "unit_id": unit.unit_id, "digital": out.rng.random() < 0.8 * q}
    out.emit(EventType.INSPECTION_COMPLETED, f"insp-{eid}", out.when(), data)


def dossier(out: _Day, unit: RegistryUnit, q: float, key: str) -> None:
    rng = out.rng
    dossier_id = f"hs-{key}"
    procedure = (
        f"{unit.unit_id}-tthc-{rng.randrange(5):03d}"
        if unit.tier is Tier.PROVINCE_AGENCY
        else f"tq-tthc-{unit.tier.value}-{rng.randrange(30):03d}"
    )
    online = rng.random() < 0.95 * q
    channel = "online_full" if online else rng.choice(_CHANNELS_OTHER)
    received = out.when()
    data = {
        "dossier_id": dossier_id,
        "unit_id": unit.unit_id,
        "procedure_id": procedure,
        "channel": channel,
    }
    fix = {"channel": "direct" if online else "online_full"}
    out.correct(EventType.DOSSIER_RECEIVED, f"rcv-{dossier_id}", received, data, fix)
    if rng.random() < RATED_SHARE:
        rated = received + timedelta(hours=rng.randint(1, 72)) if out.clock is None else received
        satisfied = rng.random() < 0.7 + 0.3 * q
        rating = {"dossier_id": dossier_id, "unit_id": unit.unit_id, "satisfied": satisfied}
        out.correct(
            EventType.DOSSIER_RATED, f"dg-{dossier_id}", rated, rating, {"satisfied": not satisfied}
        )


# In the order of RATES' columns.
BUILDERS: tuple[Callable[[_Day, RegistryUnit, float, str], None], ...] = (
    dossier,
    document,
    workfile,
    report,
    inspection,
)
