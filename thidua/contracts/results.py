"""The ``kpi-results`` message, defined once: the writer publishes it after materializing a
period, notify reads it (``services.notify.observations.Scorecard.from_json``).

Key ``"{period}|{unit_id}"`` (the topic is compacted: the latest scorecard per key stays);
value JSON ``{period, unit_id, tier, score, rank, criteria:[{id, value, numerator,
denominator, target, met}], computed_at, closed_at}`` (``closed_at``: the unit closed inside
the period, SPEC §7.2, else null) plus, when known, ``last_event_at`` (the unit's latest event
time, which sharpens the "silent unit" rule).
"""

from __future__ import annotations

from datetime import datetime

import orjson

from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.scorecard import Scorecard


def result_key(period: str, unit_id: str) -> bytes:
    return f"{period}|{unit_id}".encode()


def result_message(
    card: Scorecard, computed_at: datetime, last_event_at: datetime | None = None
) -> tuple[bytes, bytes]:
    """(key, value) of one scorecard; ``rank`` is null for an unranked (inactive) unit."""
    body: dict[str, object] = {
        "period": card.period,
        "unit_id": card.unit.unit_id,
        "tier": card.unit.tier.value,
        "score": card.score,
        "rank": card.rank,
        "criteria": [
            {
                "id": c.id,
                "value": c.value,
                "numerator": c.numerator,
                "denominator": c.denominator,
                "target": c.target,
                "met": c.met,
            }
            for c in card.criteria
        ],
        "computed_at": computed_at.astimezone(LOCAL_TZ).isoformat(),
        "closed_at": (
            card.unit.closed_at.astimezone(LOCAL_TZ).isoformat() if card.unit.closed_at else None
        ),
    }
    if last_event_at is not None:
        body["last_event_at"] = last_event_at.astimezone(LOCAL_TZ).isoformat()
    return result_key(card.period, card.unit.unit_id), orjson.dumps(body)
