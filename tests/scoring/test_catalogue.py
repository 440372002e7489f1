"""The measure catalogue (``thidua.contracts.measures``) is what the processors compute: every
name they count is in it (or an indicator pair), every catalogued measure is counted by some
event, and flow vs stock is decided by the catalogue alone."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.scoring.processors import fold
from tests.scoring.workload import make_events
from tests.store.test_recompute import province
from thidua.contracts import measures
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.plans import default_plans


def _dossier_766() -> CanonicalEvent:
    data = {"dossier_id": "D766", "unit_id": "P", "procedure_id": "PR1", "channel": "direct"}
    data |= {"on_time": True, "digitised": True, "paid_online": True}
    return CanonicalEvent(
        source="s",
        id="d766",
        type=EventType.DOSSIER_RECEIVED,
        time=datetime(2025, 3, 1, 8, tzinfo=LOCAL_TZ),
        seq=10**6,
        data=data,
    )


def _counted() -> set[str]:
    events = [*province(), *make_events(3_000, seed=7), _dossier_766()]
    counters = fold(events, indicator_ids=default_plans().indicator_ids())
    return {measure for _, measure, _ in counters}


def test_processors_count_exactly_the_catalogue() -> None:
    counted = _counted()
    plain = {m for m in counted if not m.startswith("indicator.")}
    assert plain == set(measures.CATALOGUE)
    assert all(measures.kind_of(m) == "stock" for m in counted - plain)


def test_each_event_type_has_one_kind() -> None:
    assert measures.FLOW_TYPES.isdisjoint(measures.STOCK_TYPES)
    for m in measures.CATALOGUE.values():
        assert measures.TYPE_KINDS[m.event_type] == m.kind
    assert measures.TYPE_KINDS[EventType.INDICATOR_OBSERVED] == "stock"


def test_a_type_with_both_kinds_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    mixed = dict(measures.CATALOGUE)
    mixed["rating_stock"] = measures.Measure(
        "rating_stock", EventType.DOSSIER_RATED, "stock", "a mistake"
    )
    monkeypatch.setattr(measures, "CATALOGUE", mixed)
    with pytest.raises(ValueError, match="both flow and stock"):
        measures._kind_of_types()


def test_the_batch_recompute_computes_exactly_the_catalogue() -> None:
    from thidua.store.recompute import CONDITIONS

    assert set(CONDITIONS) == set(measures.CATALOGUE)
    for name, (event_type, _) in CONDITIONS.items():
        assert measures.CATALOGUE[name].event_type is event_type
