"""The simulated 2025 reform (SPEC §7.2): each registry version sent at its day, closings with
successors, sources still sending a closed unit's id for a few weeks, staff moved late or never,
and all of it the same for a seed whatever the range asked for."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from thidua.contracts.events import EventType, Tier
from thidua.contracts.periods import LOCAL_TZ
from tools.simulate.generator import generate
from tools.simulate.model import LAG_WEEKS, lag_end, propensities
from tools.simulate.registry import (
    DEPARTMENT_REFORM_DAY,
    REFORM_DAY,
    RegistryUnit,
    default_registry,
)
from tools.simulate.stocks import procedure_events, staff_events

START, END = date(2025, 2, 20), date(2025, 8, 25)
SEED = 11
UNIT = EventType.UNIT_UPSERTED.value
FLOW_TYPES = {
    EventType.DOSSIER_RECEIVED.value,
    EventType.DOSSIER_RATED.value,
    EventType.DOCUMENT_SENT.value,
    EventType.WORKFILE_CLOSED.value,
    EventType.REPORT_SUBMITTED.value,
    EventType.INSPECTION_COMPLETED.value,
}


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(generate(seed=SEED, start=START, end=END, scale=0.1))


@pytest.fixture(scope="module")
def registry() -> dict[str, RegistryUnit]:
    return {u.unit_id: u for u in default_registry()}


def _moment(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["time"])


def _flow_unit(event: dict[str, Any]) -> str:
    data = event["data"]
    return str(data.get("unit_id") or data["from_unit"])


def test_every_version_is_sent_at_its_day(
    events: list[dict[str, Any]], registry: dict[str, RegistryUnit]
) -> None:
    sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["type"] == UNIT:
            sent[event["data"]["unit_id"]].append(event)
    assert sent.keys() == registry.keys()
    for unit_id, unit in registry.items():
        got = sorted(sent[unit_id], key=_moment)
        assert [_moment(e).date() for e in got] == [v.valid_from for v in unit.versions]
        assert [e["data"]["name"] for e in got] == [v.name for v in unit.versions]
        assert [e["data"]["active"] for e in got] == [v.active for v in unit.versions]
    closings = [e for e in events if e["type"] == UNIT and not e["data"]["active"]]
    by_day = defaultdict(set)
    for event in closings:
        assert event["data"]["successor_id"] in registry
        by_day[event["time"]].add(event["data"]["unit_id"])
    assert len(by_day["2025-07-01T00:00:00+07:00"]) == 18
    assert "tq-so-tttt" in by_day["2025-03-01T00:00:00+07:00"]
    assert len(by_day["2025-03-01T00:00:00+07:00"]) == 5
    renames = [e for e in sent["tq-so-nnmt"] if _moment(e).date() == DEPARTMENT_REFORM_DAY]
    assert [e["data"]["name"] for e in renames] == ["Sở Nông nghiệp và Môi trường"]
    assert all(e["data"]["active"] for e in renames)


def test_sources_lag_behind_closings_for_a_few_weeks(
    events: list[dict[str, Any]], registry: dict[str, RegistryUnit]
) -> None:
    lagging: dict[str, list[datetime]] = defaultdict(list)
    for event in events:
        if event["type"] not in FLOW_TYPES:
            continue
        unit = registry[_flow_unit(event)]
        if unit.valid_to is not None and _moment(event).date() >= unit.valid_to:
            lagging[unit.unit_id].append(_moment(event))
    districts = [u for u in registry.values() if u.tier is Tier.DISTRICT]
    assert sum(1 for u in districts if lagging[u.unit_id]) >= 15
    assert lagging["tq-so-tttt"], "Sở TT&TT's id is still used after 2025-03-01"
    for unit_id, moments in lagging.items():
        unit = registry[unit_id]
        end = lag_end(SEED, unit)
        assert unit.valid_to is not None and end is not None
        # a rating or a correction may follow its dossier by up to three days
        assert max(moments).date() < end + timedelta(days=4), unit_id
        assert end - unit.valid_to <= timedelta(weeks=LAG_WEEKS[1])
    assert len({lag_end(SEED, u) for u in districts}) > 1, "lag drawn per unit"
    # the share while lagging is small: far fewer events than in the weeks before
    tq = "tq-huyen-072"
    before = [e for e in events if e["type"] in FLOW_TYPES and _flow_unit(e) == tq]
    assert len(lagging[tq]) < len(before) / 3


def test_staff_move_to_the_successor_late_or_never(registry: dict[str, RegistryUnit]) -> None:
    closing = datetime.combine(REFORM_DAY, datetime.min.time(), LOCAL_TZ)
    year_end = datetime(2026, 1, 1, tzinfo=LOCAL_TZ)
    on_day = late = stayed = 0
    units = [u for u in registry.values() if u.tier is Tier.DISTRICT]
    props = propensities(SEED, registry.values())
    for unit in units:
        versions: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
        for moment, event in staff_events(SEED, unit, props[unit.unit_id], 1.0):
            if event["type"] == EventType.STAFF_UPSERTED.value and moment < year_end:
                versions[event["data"]["staff_id"]].append((moment, event["data"]))
        for history in versions.values():
            history.sort(key=lambda v: v[0])
            moved = [m for m, data in history if data["unit_id"] == unit.successor_id]
            on_day += bool(moved) and moved[0] == closing
            late += bool(moved) and moved[0] > closing
            last = history[-1][1]
            stayed += last["unit_id"] == unit.unit_id and last["active"]
    assert on_day > late > stayed > 0


def test_a_closed_departments_procedures_pass_to_its_successor(
    registry: dict[str, RegistryUnit],
) -> None:
    tttt = registry["tq-so-tttt"]
    props = propensities(SEED, registry.values())
    events = [e for _, e in procedure_events(SEED, tttt, props[tttt.unit_id], 1.0)]
    moved = [e for e in events if e["data"]["unit_id"] == "tq-so-khcn"]
    assert moved and all(_moment(e).date() >= DEPARTMENT_REFORM_DAY for e in moved)
    assert all(
        e["data"]["unit_id"] == "tq-so-tttt"
        for e in events
        if _moment(e).date() < DEPARTMENT_REFORM_DAY
    )


def test_the_reform_history_does_not_depend_on_the_range(events: list[dict[str, Any]]) -> None:
    """The flows dated from 2025-07-01 are the same when the feed starts then, but for the
    ratings and corrections of items from the days before (their ids carry that day)."""
    later = list(generate(seed=SEED, start=REFORM_DAY, end=END, scale=0.1))
    cut = datetime.combine(REFORM_DAY, datetime.min.time(), LOCAL_TZ)

    def flows(stream: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {
            (e["id"], e["time"]) for e in stream if e["type"] in FLOW_TYPES and _moment(e) >= cut
        }

    extra = flows(events) - flows(later)
    assert flows(later) <= flows(events)
    assert all(re.search(r"-(\d{8})-\d{3}", eid)[1] < "20250701" for eid, _ in extra)  # type: ignore[index]
