"""The scorer's in-memory part (``Scorer.score``) against the pure fold: batches, the
remembered states and their eviction, dead letters. Plain dicts stand in for the tables'
stores (the broker tests in test_worker.py run the real thing)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from faust.types import TP

from services.scoring.agents import Scorer
from services.scoring.metrics import ScoringMetrics
from services.scoring.processors import EntityState, contribution, exact, fold
from services.scoring.processors.measures import normalise
from thidua.contracts.plans import default_plans

from .workload import make_events

IDS = default_plans().indicator_ids()


class Store(dict):  # type: ignore[type-arg]
    """A memory store as the scorer sees it: ``.data`` and the key → partition map."""

    def __init__(self) -> None:
        super().__init__()
        self.data = self
        self._key_partition: dict[bytes, int] = {}


class Table:
    def __init__(self, name: str) -> None:
        self.data = Store()
        self.changelog_topic = SimpleNamespace(get_topic_name=lambda: name)


class DeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    def send(self, message: Any, reason: str) -> None:
        self.sent.append((message, reason))


def record(offset: int, value: bytes, partitions: int = 4) -> SimpleNamespace:
    partition = offset % partitions
    return SimpleNamespace(
        topic="src", partition=partition, offset=offset, value=value, tp=TP("src", partition)
    )


def scorer(recent_limit: int) -> Scorer:
    return Scorer(
        None,  # type: ignore[arg-type]
        entities=Table("entities"),  # type: ignore[arg-type]
        counters=Table("counters"),  # type: ignore[arg-type]
        source_topics=frozenset({"src"}),
        indicator_ids=IDS,
        metrics=ScoringMetrics(),
        dead_letters=DeadLetters(),  # type: ignore[arg-type]
        lock=None,  # type: ignore[arg-type]
        start_offsets=None,  # type: ignore[arg-type]
        seek=None,  # type: ignore[arg-type]
        recent_limit=recent_limit,
    )


def published_totals(s: Scorer) -> dict[tuple[str, str, str], Any]:
    """The counters summed over partitions, zeros left out (as ``fold`` gives them)."""
    totals: dict[tuple[str, str, str], Any] = {}
    for raw in s.counters.data.values():
        doc = orjson.loads(raw)
        key = (doc["unit_id"], doc["measure"], doc["day"])
        totals[key] = normalise(totals.get(key, 0) + exact(doc["value"]))
    return {key: value for key, value in totals.items() if value != 0}


@pytest.mark.parametrize("recent_limit", [0, 1, 7, 100_000])
@pytest.mark.parametrize("batch", [1, 13, 500])
def test_batches_score_what_the_fold_says(recent_limit: int, batch: int) -> None:
    events = make_events(3000, seed=recent_limit + batch, entities=300, units=4)
    expected = fold(events, indicator_ids=IDS)
    s = scorer(recent_limit)
    records = [record(i, e.to_bytes()) for i, e in enumerate(events)]
    for start in range(0, len(records), batch):
        s.score(records[start : start + batch])
    assert len(s.recent) <= recent_limit
    assert published_totals(s) == expected
    for key, (state, known) in s.recent.items():
        stored = EntityState.from_bytes(s.entities.data[key])
        assert state == stored, "a remembered state is what the store holds"
        assert known is None or known == contribution(stored)


def test_undecodable_and_invalid_records_are_dead_lettered_and_the_rest_scored() -> None:
    events = make_events(50, seed=3, entities=20, units=2)
    s = scorer(100)
    good = [record(i, e.to_bytes()) for i, e in enumerate(events)]
    bad_type = orjson.loads(events[0].to_bytes())
    bad_type["data"] = {"nonsense": True}
    rng = random.Random(1)
    records = good[:]
    records.insert(rng.randrange(len(records)), record(900, b"{not json"))
    records.insert(rng.randrange(len(records)), record(901, orjson.dumps(bad_type)))
    outgoing, letters = s.score(records)
    assert letters == 2
    assert sorted(m.offset for m, _ in s.dead_letters.sent) == [900, 901]  # type: ignore[attr-defined]
    assert outgoing
    assert published_totals(s) == fold(events, indicator_ids=IDS)
