"""The scorer's own offset bookkeeping (services/scoring/positions.py)."""

from __future__ import annotations

import logging

import pytest

from services.scoring.positions import Positions, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def positions(clock: Clock) -> Positions:
    p = Positions(clock=clock, retry_seconds=1.0, attempts=3)
    p.start({"a": 10, "b": 0})
    return p


def test_in_order_offsets_are_scored_and_committed_once_delivered(positions: Positions) -> None:
    assert [positions.classify("a", o) for o in (10, 11, 12)] == [Verdict.SCORE] * 3
    assert positions.to_commit() == {}, "nothing is committable before the broker has it"
    positions.delivered()
    assert positions.to_commit() == {"a": 13}
    positions.committed({"a": 13})
    assert positions.to_commit() == {}


def test_redelivered_offsets_are_seen_not_scored(positions: Positions) -> None:
    positions.classify("a", 10)
    positions.classify("a", 11)
    assert positions.classify("a", 10) is Verdict.SEEN
    assert positions.classify("a", 9) is Verdict.SEEN
    assert positions.classify("a", 12) is Verdict.SCORE


def test_a_hole_seeks_back_and_waits_for_the_missing_offset(
    positions: Positions, clock: Clock
) -> None:
    """The two-worker loss: offset 68 never delivered, 69.. delivered, 97 committed."""
    assert positions.classify("a", 12) is Verdict.SEEK
    assert positions.next_offset("a") == 10
    assert positions.classify("a", 13) is Verdict.WAIT  # the rest of the stale fetch
    positions.delivered()
    assert positions.to_commit() == {}, "nothing past the hole is committed"
    clock.now = 0.5
    assert positions.classify("a", 10) is Verdict.SCORE  # re-delivered after the seek
    assert positions.classify("a", 11) is Verdict.SCORE
    assert positions.classify("a", 12) is Verdict.SCORE
    positions.delivered()
    assert positions.to_commit() == {"a": 13}


def test_a_hole_in_the_log_itself_is_stepped_over_after_some_seeks(
    positions: Positions, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    assert positions.classify("a", 15) is Verdict.SEEK
    clock.now = 0.9
    assert positions.classify("a", 15) is Verdict.WAIT
    clock.now = 1.1
    assert positions.classify("a", 15) is Verdict.SEEK
    clock.now = 2.2
    assert positions.classify("a", 15) is Verdict.SEEK
    clock.now = 3.3
    with caplog.at_level(logging.WARNING):
        assert positions.classify("a", 15) is Verdict.SCORE
    assert "offsets 10..14 are not in the log" in caplog.text
    assert positions.classify("a", 16) is Verdict.SCORE


def test_partitions_are_independent_and_start_forgets(positions: Positions) -> None:
    assert positions.classify("b", 0) is Verdict.SCORE
    assert positions.classify("a", 11) is Verdict.SEEK
    assert positions.classify("b", 1) is Verdict.SCORE
    positions.delivered()
    assert positions.to_commit() == {"b": 2}
    positions.start({"a": 11})
    assert positions.classify("a", 11) is Verdict.SCORE
    assert positions.next_offset("b") is None
    positions.clear()
    assert positions.to_commit() == {}


def test_a_batch_acknowledged_while_the_next_is_scored_commits_up_to_its_own_end(
    positions: Positions,
) -> None:
    """Pipelined batches: the first batch's acknowledgement arrives after the second batch
    was scored; only the first batch's offsets may be committed then."""
    for o in (10, 11):
        assert positions.classify("a", o) is Verdict.SCORE
    first = positions.mark()
    for o in (12, 13):
        assert positions.classify("a", o) is Verdict.SCORE
    assert positions.classify("b", 0) is Verdict.SCORE
    second = positions.mark()
    positions.delivered(first)
    assert positions.to_commit() == {"a": 12}
    positions.delivered(second)
    assert positions.to_commit() == {"a": 14, "b": 1}
