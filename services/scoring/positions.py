"""Which source offsets a worker has scored: the worker's own offset bookkeeping.

Faust 0.15 decides what to commit from the offsets acknowledged since its last seek, fills
what looks like a gap in the offsets it saw with "acknowledged", and drops a message whose
offset is below the last one it read. Around the seek after a restore (records fetched before
it delivered after it) that lost events: their offsets were committed, they were never
scored (found in a two-worker run: the first event of a taken-over partition).

So the scorer keeps, per source partition, the next offset to score, starting from the
committed offset. An event at that offset is scored; an earlier one was scored already (a
re-delivery); a later one means events in between were not delivered: the partition is
sought back and the events after the hole wait for the re-delivery. A hole that is still there
after a few seeks is a hole in the log itself (compaction, transaction markers; the source
topics have neither today) and is stepped over, with a warning. Only offsets of batches the
broker has acknowledged are committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)  # a partition (Faust's TP)

log = logging.getLogger(__name__)


class Verdict(Enum):
    SCORE = "score"  # the next offset: score it
    SEEN = "seen"  # below the next offset: scored already
    SEEK = "seek"  # a hole: seek the partition back to ``Positions.next_offset(tp)``
    WAIT = "wait"  # a hole already being re-read: drop the event, it comes again


@dataclass(slots=True)
class _Seek:
    offset: int
    at: float
    attempts: int


class Positions(Generic[K]):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = 1.0,
        attempts: int = 3,
    ) -> None:
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._attempts = attempts
        self._next: dict[K, int] = {}
        self._durable: dict[K, int] = {}
        self._committed: dict[K, int] = {}
        self._seeks: dict[K, _Seek] = {}

    def start(self, starts: Mapping[K, int]) -> None:
        """Begin from these offsets (the committed ones); forget everything else."""
        self._next = dict(starts)
        self._durable = dict(starts)
        self._committed = dict(starts)
        self._seeks.clear()

    def clear(self) -> None:
        self.start({})

    def starts(self) -> dict[K, int]:
        """Where scoring resumes: the durable positions (the start ones until a batch is in)."""
        return dict(self._durable)

    def next_offset(self, tp: K) -> int | None:
        return self._next.get(tp)

    def classify(self, tp: K, offset: int) -> Verdict:
        expected = self._next.get(tp)
        if expected is None or offset == expected:
            self._next[tp] = offset + 1
            self._seeks.pop(tp, None)
            return Verdict.SCORE
        if offset < expected:
            return Verdict.SEEN
        seek = self._seeks.get(tp)
        now = self._clock()
        if seek is None or seek.offset != expected:
            self._seeks[tp] = _Seek(expected, now, 1)
            return Verdict.SEEK
        if now - seek.at < self._retry_seconds:
            return Verdict.WAIT
        if seek.attempts < self._attempts:
            seek.at, seek.attempts = now, seek.attempts + 1
            return Verdict.SEEK
        log.warning(
            "%s: offsets %d..%d are not in the log (read %d times): going on from %d",
            tp,
            expected,
            offset - 1,
            seek.attempts,
            offset,
        )
        self._next[tp] = offset + 1
        del self._seeks[tp]
        return Verdict.SCORE

    def mark(self) -> dict[K, int]:
        """The positions after everything scored so far (for :meth:`delivered`)."""
        return dict(self._next)

    def delivered(self, mark: Mapping[K, int] | None = None) -> None:
        """Everything scored up to ``mark`` (default: so far) is acknowledged by the broker:
        it may be committed."""
        self._durable.update(self._next if mark is None else mark)

    def to_commit(self) -> dict[K, int]:
        """Durable positions not committed yet."""
        return {tp: o for tp, o in self._durable.items() if self._committed.get(tp) != o}

    def committed(self, offsets: Mapping[K, int]) -> None:
        self._committed.update(offsets)
