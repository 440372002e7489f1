"""Scoring's one-pass decoder (``processors.decode``: the models restated as TypedDicts)
against the two passes through the models themselves, on valid events and on every kind of
mutation of them: it must accept exactly what the models accept, and read the same values."""

from __future__ import annotations

import random
from typing import Any

import orjson

from thidua.contracts.events import CanonicalEvent
from thidua.decode import Envelope, decode_valid, validated_data

from .workload import make_events, province_events

_WRONG_VALUES: list[Any] = [
    None, 0, 1, -1, 2.5, 1.0, True, False, "", "x", "true", "1", "online_full", "civil_servant",
    "x" * 201, "x" * 501, [], ["x"], [""], {}, {"a": 1},
    "2025-03-01T10:00:00", "2025-03-01T10:00:00+07:00", "2025-02-30T10:00:00Z", 1740800000,
]  # fmt: skip


def two_pass(raw: bytes) -> tuple[Envelope, dict[str, Any]] | None:
    try:
        event = CanonicalEvent.from_bytes(raw)
        data = validated_data(event)
    except ValueError:
        return None
    return Envelope(event.type, event.time, event.seq, event.source, event.id), data


def mutations(doc: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """The event without each field, with each field set to each wrong value, with extra
    fields, in the envelope and in the data."""
    out: list[dict[str, Any]] = []
    for name in doc:
        out.append({k: v for k, v in doc.items() if k != name})
        out.extend({**doc, name: value} for value in rng.sample(_WRONG_VALUES, 8))
    data = doc["data"]
    for name in data:
        out.append({**doc, "data": {k: v for k, v in data.items() if k != name}})
        out.extend({**doc, "data": {**data, name: value}} for value in rng.sample(_WRONG_VALUES, 8))
    out.append({**doc, "extra": 1, "data": {**data, "unknown": [1, 2]}})
    out.append({**doc, "seq": -1})
    return out


def assert_agree(raw: bytes) -> bool:
    one, two = decode_valid(raw), two_pass(raw)
    assert (one is None) == (two is None), raw
    if one is not None and two is not None:
        assert one[0] == two[0], raw
        assert one[1] == two[1], raw  # (an enum member equals its JSON value)
    return one is not None


def test_valid_events_read_the_same() -> None:
    events = [*make_events(2000, seed=5, entities=100, units=3), *province_events(3000)]
    assert all(assert_agree(e.to_bytes()) for e in events)


def test_mutated_events_are_refused_or_read_alike() -> None:
    rng = random.Random(7)
    samples: dict[str, Any] = {}
    for e in [*make_events(600, seed=9, entities=50, units=3), *province_events(1500)]:
        samples.setdefault(e.type.value, e)  # one event of every type
    accepted = refused = 0
    for event in samples.values():
        for doc in mutations(orjson.loads(event.to_bytes()), rng):
            if assert_agree(orjson.dumps(doc)):
                accepted += 1
            else:
                refused += 1
    assert len(samples) == 11
    assert accepted > 50 and refused > 500  # both sides of the line were tried


def test_undecodable_bytes_are_refused() -> None:
    for raw in (b"", b"{not json", b"[]", b"null", b'"event"', b"{}"):
        assert decode_valid(raw) is None
        assert two_pass(raw) is None
