"""The measure catalogue: every counter scoring keeps, flow or stock, and its rule.

A plan file names measures as numerators and denominators; the plan loader checks each name
and kind against this catalogue at start, so a typo is refused instead of reading zero. The
processors (``services/scoring/processors/measures.py``) and the batch recompute
(``thidua/store/recompute.py``) compute exactly these names (tests/scoring checks it).

Flows are summed over the days inside a period; stocks are per-day deltas summed over every
day before the instant evaluated (docs/DESIGN.md, "Measures").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from thidua.contracts.events import EventType

Kind = Literal["flow", "stock"]


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    event_type: EventType
    kind: Kind
    rule: str


def _m(name: str, event_type: EventType, kind: Kind, rule: str) -> Measure:
    return Measure(name, event_type, kind, rule)


_E = EventType
CATALOGUE: dict[str, Measure] = {
    m.name: m
    for m in (
        _m("dossier_received", _E.DOSSIER_RECEIVED, "flow", "1 per dossier received"),
        _m("dossier_online_full", _E.DOSSIER_RECEIVED, "flow", "channel = online_full"),
        _m("rating", _E.DOSSIER_RATED, "flow", "1 per rated dossier"),
        _m("rating_satisfied", _E.DOSSIER_RATED, "flow", "satisfied"),
        _m("document_non_confidential", _E.DOCUMENT_SENT, "flow", "¬confidential"),
        _m(
            "document_electronic_signed",
            _E.DOCUMENT_SENT,
            "flow",
            "¬confidential ∧ electronic ∧ digitally_signed",
        ),
        _m("workfile_non_secret", _E.WORKFILE_CLOSED, "flow", "¬secret"),
        _m("workfile_online", _E.WORKFILE_CLOSED, "flow", "¬secret ∧ online"),
        _m(
            "workfile_online_signed",
            _E.WORKFILE_CLOSED,
            "flow",
            "¬secret ∧ online ∧ digitally_signed",
        ),
        # Chỉ số 766 (tham khảo): shown beside the scorecard, named by no plan (index766.py)
        _m("dossier_766_finished", _E.DOSSIER_RECEIVED, "flow", "on_time is known"),
        _m("dossier_766_on_time", _E.DOSSIER_RECEIVED, "flow", "on_time"),
        _m("dossier_766_digitised_known", _E.DOSSIER_RECEIVED, "flow", "digitised is known"),
        _m("dossier_766_digitised", _E.DOSSIER_RECEIVED, "flow", "digitised"),
        _m("dossier_766_fee_due", _E.DOSSIER_RECEIVED, "flow", "paid_online is known"),
        _m("dossier_766_paid_online", _E.DOSSIER_RECEIVED, "flow", "paid_online"),
        _m("report", _E.REPORT_SUBMITTED, "flow", "1 per report"),
        _m("report_via_shared_system", _E.REPORT_SUBMITTED, "flow", "via_shared_system"),
        _m("inspection", _E.INSPECTION_COMPLETED, "flow", "1 per inspection"),
        _m("inspection_digital", _E.INSPECTION_COMPLETED, "flow", "digital"),
        _m("procedure_eligible", _E.PROCEDURE_UPSERTED, "stock", "full_online_eligible"),
        _m(
            "procedure_eligible_full_online",
            _E.PROCEDURE_UPSERTED,
            "stock",
            "full_online_eligible ∧ full_online",
        ),
        _m(
            "procedure_eligible_full_online_mobile",
            _E.PROCEDURE_UPSERTED,
            "stock",
            "full_online_eligible ∧ full_online ∧ mobile",
        ),
        _m("civil_servant_active", _E.STAFF_UPSERTED, "stock", "active ∧ civil_servant"),
        _m(
            "civil_servant_digital_id",
            _E.STAFF_UPSERTED,
            "stock",
            "active ∧ civil_servant ∧ digital_id",
        ),
        _m(
            "cbccvc_active",
            _E.STAFF_UPSERTED,
            "stock",
            "active ∧ category ∈ {civil_servant, public_employee}",
        ),
        _m(
            "cbccvc_trained_basic_digital_skills",
            _E.STAFF_UPSERTED,
            "stock",
            "cbccvc_active ∧ a basic_digital_skills completion before the instant",
        ),
        _m(
            "cbccvc_trained_data_analytics",
            _E.STAFF_UPSERTED,
            "stock",
            "cbccvc_active ∧ a data_analytics completion before the instant",
        ),
    )
}

_INDICATOR = re.compile(r"^indicator\.[A-Z][0-9]{2}\.(num|den)$")

FLOW_MEASURES: frozenset[str] = frozenset(n for n, m in CATALOGUE.items() if m.kind == "flow")


def _kind_of_types() -> dict[EventType, Kind]:
    """Each event type's kind, from its measures: the processors fold a flow type's versions
    and a stock type's differently, so one type's measures must all be of one kind."""
    kinds: dict[EventType, Kind] = {EventType.INDICATOR_OBSERVED: "stock"}  # indicator pairs
    for m in CATALOGUE.values():
        if kinds.setdefault(m.event_type, m.kind) != m.kind:
            raise ValueError(f"{m.event_type.value} has both flow and stock measures")
    return kinds


TYPE_KINDS: dict[EventType, Kind] = _kind_of_types()
FLOW_TYPES: frozenset[EventType] = frozenset(t for t, k in TYPE_KINDS.items() if k == "flow")
STOCK_TYPES: frozenset[EventType] = frozenset(t for t, k in TYPE_KINDS.items() if k == "stock")


def kind_of(measure: str) -> Kind | None:
    """The measure's kind; an indicator's pair (``indicator.Cxx.num|den``) is a stock; None:
    not a measure scoring keeps."""
    known = CATALOGUE.get(measure)
    if known is not None:
        return known.kind
    return "stock" if _INDICATOR.match(measure) else None


def is_flow(measure: str) -> bool:
    return measure in FLOW_MEASURES
