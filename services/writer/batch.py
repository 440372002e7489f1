"""Batch step: rows accumulate until the batch is big enough *or* old enough.

A batch also carries what must happen after its write: the offsets to commit, the messages
to dead-letter, and the days whose periods need re-materializing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kafka.structs import TopicPartition

from services.writer.decode import Decoded
from services.writer.rows import TableSpec


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str


@dataclass
class Batch:
    max_messages: int
    max_seconds: float
    rows: dict[TableSpec, list[list[Any]]] = field(default_factory=dict)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    stock_days: set[date] = field(default_factory=set)
    flow_days: set[date] = field(default_factory=set)
    messages: int = 0
    opened_at: float | None = None

    def _track(self, tp: TopicPartition, offset: int) -> None:
        if self.opened_at is None:
            self.opened_at = time.monotonic()
        self.messages += 1
        self.next_offsets[tp] = offset + 1

    def add(self, tp: TopicPartition, offset: int, decoded: Decoded) -> None:
        """(``tp``: the consumer's own key of the record's partition, not a new one each.)"""
        self._track(tp, offset)
        self.rows.setdefault(decoded.table, []).append(decoded.row)
        if decoded.stock_day is not None:
            self.stock_days.add(decoded.stock_day)
        if decoded.flow_day is not None:
            self.flow_days.add(decoded.flow_day)

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self._track(TopicPartition(letter.topic, letter.partition), letter.offset)
        self.dead_letters.append(letter)

    def seconds_left(self) -> float:
        if self.opened_at is None:
            return self.max_seconds
        return max(0.0, self.opened_at + self.max_seconds - time.monotonic())

    @property
    def ready(self) -> bool:
        return self.messages >= self.max_messages or (
            self.messages > 0 and self.seconds_left() == 0.0
        )

    @property
    def empty(self) -> bool:
        return self.messages == 0
