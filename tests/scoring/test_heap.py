"""The worker's garbage-collection policy (``thidua.heap``)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from thidua.heap import collect_frozen, frozen_after


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_no_collection_inside_and_survivors_frozen_after() -> None:
    gc.enable()
    before = gc.get_freeze_count()
    with frozen_after():
        assert not gc.isenabled()
        kept = [Node() for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(kept)


def test_collection_stays_off_when_it_was_off() -> None:
    gc.disable()
    with frozen_after():
        pass
    assert not gc.isenabled()


def test_frozen_cyclic_garbage_is_kept_until_collect_frozen() -> None:
    gc.enable()
    with frozen_after():
        ref = cycle()  # garbage already, but not collected inside: frozen with the rest
    gc.collect()
    assert ref() is not None, "a frozen cycle is out of the collector's reach"
    assert collect_frozen() >= 2
    assert ref() is None
    assert gc.get_freeze_count() == 0
