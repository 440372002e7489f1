"""generate(): deterministic, every SPEC §4 type, valid data, realistic disorder."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from itertools import islice
from typing import Any

import orjson
import pytest

from thidua.contracts.events import DATA_MODELS, EventType, entity_key
from tools.simulate.generator import generate
from tools.simulate.live import live_events

START, END = date(2025, 6, 1), date(2025, 7, 15)  # spans the 2025-07-01 reform


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(generate(seed=7, start=START, end=END, scale=0.2))


def test_same_seed_same_stream(events: list[dict[str, Any]]) -> None:
    assert list(generate(seed=7, start=START, end=END, scale=0.2)) == events
    assert list(islice(generate(seed=8, start=START, end=END, scale=0.2), 3000)) != events[:3000]


def test_every_type_present_and_valid(events: list[dict[str, Any]]) -> None:
    assert {e["type"] for e in events} == {t.value for t in EventType}
    for event in events:
        assert event["specversion"] == "1.0"
        assert {"id", "source", "type", "time", "data"} <= event.keys()
        assert datetime.fromisoformat(event["time"]).utcoffset() is not None
        # as ingest sees it: JSON on the wire, strict models
        DATA_MODELS[EventType(event["type"])].model_validate_json(orjson.dumps(event["data"]))


def test_indicators_cover_the_indicator_criteria(events: list[dict[str, Any]]) -> None:
    seen = {e["data"]["indicator"] for e in events if e["type"] == EventType.INDICATOR_OBSERVED}
    assert {
        "C06",
        "C07",
        "C08",
        "C09",
        "C10",
        "C17",
        "C18",
        "C19",
        "C20",
        "C21",
        "E01",
        "E02",
    } <= seen


def test_times_inside_the_range_for_flows(events: list[dict[str, Any]]) -> None:
    end = datetime(2025, 7, 15).astimezone()
    assert all(datetime.fromisoformat(e["time"]) < end for e in events)


def test_resends_are_identical_and_corrections_are_newer(events: list[dict[str, Any]]) -> None:
    by_id: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_id[(event["source"], event["id"])].append(event)
    resent = [group for group in by_id.values() if len(group) > 1]
    assert resent, "some events are sent twice"
    assert all(all(e == group[0] for e in group) for group in resent)

    versions: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for event in events:
        versions[entity_key(EventType(event["type"]), event["data"])].add(
            (event["id"], event["time"])
        )
    corrected = [
        k for k, v in versions.items() if len(v) > 1 and k.startswith(("dossier", "workfile"))
    ]
    assert corrected, "some dossiers / work files get a newer version"


def test_some_events_arrive_out_of_order(events: list[dict[str, Any]]) -> None:
    flows = [
        datetime.fromisoformat(e["time"]) for e in events if e["type"] == EventType.WORKFILE_CLOSED
    ]
    late = sum(1 for a, b in zip(flows, flows[1:], strict=False) if (a - b).days >= 1)
    assert late > 0


def test_units_rank_differently(events: list[dict[str, Any]]) -> None:
    online: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for event in events:
        if event["type"] == EventType.WORKFILE_CLOSED:
            total[event["data"]["unit_id"]] += 1
            online[event["data"]["unit_id"]] += event["data"]["online"]
    shares = {u: online[u] / total[u] for u in total if total[u] >= 10}
    assert max(shares.values()) - min(shares.values()) > 0.3


def test_reform_deactivates_districts(events: list[dict[str, Any]]) -> None:
    closed = [e for e in events if e["type"] == EventType.UNIT_UPSERTED and not e["data"]["active"]]
    districts = [e for e in closed if e["data"]["tier"] == "district"]
    assert len(districts) == 18  # 7 of Tuyên Quang, 11 of Hà Giang
    assert all(
        e["time"] == "2025-07-01T00:00:00+07:00" and e["data"]["successor_id"] for e in districts
    )
    assert {e["time"] for e in closed if e not in districts} == {"2025-03-01T00:00:00+07:00"}


def test_live_events_happen_now() -> None:
    moment = datetime(2026, 3, 2, 10, 0).astimezone()
    batch = list(islice(live_events(7, clock=lambda: moment, run_id="x"), 200))
    times = [datetime.fromisoformat(e["time"]) for e in batch]
    assert max(times) == moment
    assert all((moment - t).total_seconds() <= 3600 for t in times)
    for event in batch:
        DATA_MODELS[EventType(event["type"])].model_validate_json(orjson.dumps(event["data"]))
    assert len({(e["source"], e["id"]) for e in batch}) >= 150
