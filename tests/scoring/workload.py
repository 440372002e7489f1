"""Random but reproducible canonical events for the broker tests and the benchmark.

Every kind of event appears, with corrections (new versions of an entity, other unit or
channel, older or newer times), resends (same source and id, accepted again later) and times
around the 2025/2026 boundary. ``seq`` is the acceptance order; the list is in that order.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from thidua.contracts.events import CanonicalEvent, EventType

T = EventType
_BASE = datetime.fromisoformat("2025-12-20T00:00:00+07:00")


def make_events(
    count: int, *, seed: int = 0, entities: int = 200, units: int = 5
) -> list[CanonicalEvent]:
    rng = random.Random(seed)
    events: list[CanonicalEvent] = []
    seq = 1
    while len(events) < count:
        if events and rng.random() < 0.08:  # a resend of an earlier event
            original = rng.choice(events)
            events.append(original.model_copy(update={"seq": seq}))
        else:
            event_type, data = _data(rng, rng.randrange(entities), f"U{rng.randrange(units)}")
            time = _BASE + timedelta(seconds=rng.randrange(0, 25 * 86_400))
            events.append(
                CanonicalEvent(
                    source=f"src{rng.randrange(3)}",
                    id=f"ev{seed}-{seq}",
                    type=event_type,
                    time=time,
                    seq=seq,
                    data=data,
                )
            )
        seq += 1
    return events


def _data(rng: random.Random, n: int, unit: str) -> tuple[EventType, dict[str, Any]]:
    def flag(p: float = 0.5) -> bool:
        return rng.random() < p

    kind = rng.randrange(10)
    if kind == 0:
        return T.DOSSIER_RECEIVED, {
            "dossier_id": f"d{n}",
            "unit_id": unit,
            "procedure_id": "P1",
            "channel": rng.choice(["online_full", "online_partial", "direct", "postal"]),
        }
    if kind == 1:
        return T.DOSSIER_RATED, {"dossier_id": f"d{n}", "unit_id": unit, "satisfied": flag(0.8)}
    if kind == 2:
        return T.DOCUMENT_SENT, {
            "document_id": f"doc{n}",
            "from_unit": unit,
            "to_units": ["U0"],
            "electronic": flag(0.9),
            "digitally_signed": flag(0.7),
            "confidential": flag(0.1),
        }
    if kind == 3:
        return T.WORKFILE_CLOSED, {
            "workfile_id": f"w{n}",
            "unit_id": unit,
            "online": flag(0.8),
            "digitally_signed": flag(0.6),
            "secret": flag(0.1),
        }
    if kind == 4:
        return T.REPORT_SUBMITTED, {
            "report_id": f"r{n}",
            "unit_id": unit,
            "via_shared_system": flag(),
        }
    if kind == 5:
        return T.INSPECTION_COMPLETED, {
            "inspection_id": f"i{n}",
            "unit_id": unit,
            "digital": flag(),
        }
    if kind == 6:
        return T.PROCEDURE_UPSERTED, {
            "procedure_id": f"p{n}",
            "unit_id": unit,
            "full_online_eligible": flag(0.9),
            "full_online": flag(0.7),
            "mobile": flag(0.6),
        }
    if kind == 7:
        return T.STAFF_UPSERTED, {
            "staff_id": f"s{n}",
            "unit_id": unit,
            "category": rng.choice(["civil_servant", "public_employee", "worker"]),
            "digital_id": flag(0.7),
            "active": flag(0.9),
        }
    if kind == 8:
        return T.TRAINING_COMPLETED, {
            "staff_id": f"s{n}",
            "program": rng.choice(["basic_digital_skills", "data_analytics"]),
        }
    denominator = rng.choice([1, 10, 400])
    numerator = rng.choice([0, denominator, denominator / 4, round(denominator * 0.85, 2)])
    return T.INDICATOR_OBSERVED, {
        "unit_id": unit,
        "indicator": rng.choice(["C06", "C17", "C18"]),
        "numerator": numerator,
        "denominator": denominator,
    }


def province_events(count: int, *, seed: int = 154, scale: float = 4.0) -> list[CanonicalEvent]:
    """The first ``count`` events of the simulated province (``tools.simulate``: its units,
    staff, procedures, then 2025's dossiers, documents, ratings... with their corrections,
    resends and late sends) as ingest accepts them, ``seq`` in sending order."""
    from datetime import date

    from services.ingest.cloudevents import Problem, validate_envelope
    from tools.simulate.generator import generate

    events: list[CanonicalEvent] = []
    envelopes = generate(seed=seed, start=date(2025, 1, 1), end=date(2026, 1, 1), scale=scale)
    for index, envelope in enumerate(envelopes):
        pending = validate_envelope(index, envelope)
        if isinstance(pending, Problem):
            raise ValueError(f"the simulator made an invalid event: {pending.reason}")
        events.append(
            CanonicalEvent(
                source=pending.source,
                id=pending.id,
                type=pending.type,
                time=pending.time,
                seq=len(events) + 1,
                data=pending.data,
            )
        )
        if len(events) == count:
            return events
    raise ValueError(f"the simulated 2025 at scale {scale} has only {len(events)} events")
