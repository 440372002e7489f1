"""Builders of canonical events for scoring tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from thidua.contracts.events import CanonicalEvent, EventType

_ids = itertools.count(1)
_seqs = itertools.count(1_000)

T = EventType


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def event(
    event_type: EventType,
    time: str,
    *,
    seq: int | None = None,
    source: str = "test",
    id: str | None = None,
    **data: Any,
) -> CanonicalEvent:
    """A canonical event; ``seq`` defaults to the next acceptance number."""
    return CanonicalEvent(
        source=source,
        id=id or f"e{next(_ids)}",
        type=event_type,
        time=at(time),
        seq=next(_seqs) if seq is None else seq,
        data=data,
    )


def dossier(
    dossier_id: str, time: str, unit: str = "U1", channel: str = "online_full", **kw: Any
) -> CanonicalEvent:
    return event(
        T.DOSSIER_RECEIVED,
        time,
        dossier_id=dossier_id,
        unit_id=unit,
        procedure_id="P1",
        channel=channel,
        **kw,
    )


def staff(
    staff_id: str,
    time: str,
    unit: str = "U1",
    category: str = "civil_servant",
    digital_id: bool = True,
    active: bool = True,
    **kw: Any,
) -> CanonicalEvent:
    return event(
        T.STAFF_UPSERTED,
        time,
        staff_id=staff_id,
        unit_id=unit,
        category=category,
        digital_id=digital_id,
        active=active,
        **kw,
    )


def training(
    staff_id: str, time: str, program: str = "basic_digital_skills", **kw: Any
) -> CanonicalEvent:
    return event(T.TRAINING_COMPLETED, time, staff_id=staff_id, program=program, **kw)


def indicator(
    unit: str, criterion: str, time: str, numerator: Any, denominator: Any, **kw: Any
) -> CanonicalEvent:
    return event(
        T.INDICATOR_OBSERVED,
        time,
        unit_id=unit,
        indicator=criterion,
        numerator=numerator,
        denominator=denominator,
        **kw,
    )


def procedure(
    procedure_id: str,
    time: str,
    unit: str = "U1",
    eligible: bool = True,
    full_online: bool = True,
    mobile: bool = True,
    **kw: Any,
) -> CanonicalEvent:
    return event(
        T.PROCEDURE_UPSERTED,
        time,
        procedure_id=procedure_id,
        unit_id=unit,
        full_online_eligible=eligible,
        full_online=full_online,
        mobile=mobile,
        **kw,
    )
