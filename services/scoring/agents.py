"""The scoring agent: source events → entity versions → ``kpi-counters``, exactly once.

Exactly once, and why: a counter is a running sum, so scoring an event twice (after a crash,
a rebalance or a SIGKILL) would count a dossier twice, and losing an update would leave a
counter short; rankings and awards read these sums directly. Faust's Kafka transactions
(``processing_guarantee="exactly_once"``: one transactional producer per source partition,
consumers reading ``read_committed``) put in *one* transaction, per source partition:
the entity-table changelog writes, the ``kpi-counters`` messages (the counters table's own
changelog) and the consumer offsets of the events that caused them. A crash aborts the open
transaction; the restarted worker rebuilds its tables from the committed changelogs and
re-scores exactly the events whose offsets were not committed.

Faust's own batching cannot keep that promise alone: table writes go through a buffer that a
commit does not wait for, and a commit (periodic, on rebalance, on shutdown) can run while a
batch is half sent, or sent but not yet acknowledged. So this module sends every message
itself, awaited, under :attr:`Scorer.lock`, and acknowledges the batch's events under the same
lock; every commit of the consumer takes that lock too (``ScoringApp``). A commit therefore
covers whole batches: their messages and their offsets, or neither.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from faust.tables.base import Collection
from faust.types import TP, AppT, EventT

from services.scoring.metrics import ScoringMetrics
from services.scoring.processors import EntityState, Number, apply, exact
from services.scoring.processors.measures import normalise
from thidua.contracts.events import CanonicalEvent
from thidua.contracts.topics import Topic, physical

log = logging.getLogger(__name__)

STAGE = "scoring"

Acknowledge = Callable[[EventT], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message of one source partition's transaction."""

    topic: str
    partition: int
    key: bytes
    value: bytes


def counter_key(unit_id: str, measure: str, day: str, partition: int) -> bytes:
    return f"{unit_id}|{measure}|{day}|{partition}".encode()


def counter_value(unit_id: str, measure: str, day: str, partition: int, value: Number) -> bytes:
    number: int | float = value if isinstance(value, int) else float(value)
    return orjson.dumps(
        {
            "unit_id": unit_id,
            "measure": measure,
            "day": day,
            "partition": partition,
            "value": number,
        }
    )


def counter_number(raw: bytes | None) -> Number:
    return exact(orjson.loads(raw)["value"]) if raw else 0


class DeadLetters:
    """The dead-letter topic, outside the transaction (a letter may be written twice after a
    crash, never lost: the batch waits for the broker's acknowledgement)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._producer: Any = None

    def send(self, message: Any, reason: str) -> None:
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = KafkaProducer(
                bootstrap_servers=self._bootstrap.split(","), acks="all", linger_ms=5
            )
        headers = [
            ("reason", reason.encode()[:1000]),
            ("stage", STAGE.encode()),
            ("original_topic", str(message.topic).encode()),
            ("original_partition", str(message.partition).encode()),
            ("original_offset", str(message.offset).encode()),
        ]
        self._producer.send(
            physical(Topic.DEAD_LETTER, self._prefix),
            key=message.key,
            value=message.value,
            headers=headers,
        )

    async def flush(self) -> None:
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 30)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)


class Scorer:
    """Scores batches of source events and sends their messages inside the transactions."""

    def __init__(
        self,
        app: AppT,
        *,
        entities: Collection,
        counters: Collection,
        group_topic: str,
        indicator_ids: frozenset[str],
        metrics: ScoringMetrics,
        dead_letters: DeadLetters,
        lock: asyncio.Lock,
    ) -> None:
        self.app = app
        self.group_topic = group_topic
        self.entities = entities
        self.counters = counters
        self.indicator_ids = indicator_ids
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.lock = lock
        self.last_offsets: dict[TP, int] = {}

    async def score_batch(self, events: Sequence[EventT], ack: Acknowledge) -> None:
        """Score ``events``, hand every resulting message to its transaction, then ``ack`` them.

        All under :attr:`lock`, so a commit sees the batch whole or not at all; shielded, so
        a shutdown cancelling the agent mid-batch does not cut it short.
        """
        await asyncio.shield(self._score_batch(events, ack))

    async def _score_batch(self, events: Sequence[EventT], ack: Acknowledge) -> None:
        async with self.lock:
            started = time.perf_counter()
            outgoing, letters = self.score(events)
            try:
                await self._send(outgoing)
                if letters:
                    await self.dead_letters.flush()
            except Exception:  # noqa: BLE001 - see below
                # Part of this batch may be in the open transactions while its offsets are not
                # acknowledged: any commit now would count it twice. Exit without committing;
                # the broker aborts the open transactions.
                log.critical("cannot hand a batch to the producer: exiting", exc_info=True)
                os._exit(70)
            for event in events:
                await ack(event)  # Faust's own ack after the batch is then a no-op
            self.metrics.batch_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_events.observe(len(events))

    def score(self, events: Iterable[EventT]) -> tuple[list[Outgoing], int]:
        """Pure in-memory part: update the tables' stores, return the messages to send."""
        states: dict[bytes, tuple[int, EntityState]] = {}
        deltas: dict[tuple[int, str, str, str], Number] = {}
        letters = 0
        for event in events:
            message = event.message
            self.last_offsets[message.tp] = message.offset
            scored = self._score_one(message, states)
            if scored is None:
                letters += 1
                continue
            for (unit_id, measure, day), value in scored.items():
                key = (message.partition, unit_id, measure, day)
                deltas[key] = deltas.get(key, 0) + value

        outgoing: list[Outgoing] = []
        entity_topic = self.entities.changelog_topic.get_topic_name()
        for key, (partition, state) in states.items():
            value = state.to_bytes()
            _put(self.entities, partition, key, value)
            outgoing.append(Outgoing(entity_topic, partition, key, value))
        counter_topic = self.counters.changelog_topic.get_topic_name()
        store = self.counters.data
        for (partition, unit_id, measure, day), delta in deltas.items():
            if delta == 0:
                continue  # changes inside the batch cancelled out: the published value stands
            key = counter_key(unit_id, measure, day, partition)
            total = normalise(counter_number(store.get(key)) + delta)
            value = counter_value(unit_id, measure, day, partition, total)
            _put(self.counters, partition, key, value)
            outgoing.append(Outgoing(counter_topic, partition, key, value))
        return outgoing, letters

    def _score_one(
        self, message: Any, states: dict[bytes, tuple[int, EntityState]]
    ) -> dict[tuple[str, str, str], Number] | None:
        """The counters' delta of one message, or None when it was dead-lettered."""
        try:
            if not message.value:
                raise ValueError("empty message")
            event = CanonicalEvent.from_bytes(message.value)
        except Exception as exc:  # noqa: BLE001 - any undecodable input is dead-lettered
            return self._dead_letter(message, "undecodable", exc)
        try:
            key = event.entity_key.encode()
            if key in states:
                state: EntityState | None = states[key][1]
            else:
                raw = self.entities.data.get(key)
                state = EntityState.from_bytes(raw) if raw else None
            new_state, delta = apply(state, event, indicator_ids=self.indicator_ids)
        except (ValueError, KeyError, TypeError) as exc:
            return self._dead_letter(message, "invalid", exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the province's scoring
            self.metrics.errors.labels("apply").inc()
            log.exception("scoring %s failed", event.entity_key)
            return self._dead_letter(message, "error", exc)
        if new_state is not None and new_state is not state:
            states[key] = (message.partition, new_state)
        self.metrics.events.labels(event.type.value).inc()
        return delta

    def _dead_letter(self, message: Any, kind: str, exc: BaseException) -> None:
        reason = f"{kind}: {type(exc).__name__}: {exc}"
        log.warning(
            "dead-lettering %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
        )
        self.dead_letters.send(message, reason)
        self.metrics.dead_letters.labels(kind).inc()
        return None

    async def _send(self, outgoing: Sequence[Outgoing]) -> None:
        producer = self.app.producer
        transactional_ids: dict[int, str] = {}
        for message in outgoing:
            transactional_id = transactional_ids.get(message.partition)
            if transactional_id is None:
                transactional_id = self._transactional_id(message.partition)
                transactional_ids[message.partition] = transactional_id
            await producer.send(
                message.topic,
                message.key,
                message.value,
                message.partition,
                None,
                None,
                transactional_id=transactional_id,
            )
        counter_topic = self.counters.changelog_topic.get_topic_name()
        self.metrics.counters_published.inc(sum(1 for m in outgoing if m.topic == counter_topic))

    def _transactional_id(self, partition: int) -> str:
        """The id Faust commits this source partition's offsets under (its TransactionManager):
        the source topics are co-partitioned, so they share one assignor group."""
        group = self.app.assignor.group_for_topic(self.group_topic)
        return f"{self.app.conf.id}-{group}-{partition}"

    async def commit(self) -> bool:
        """Commit the open transactions with the offsets of every batch scored so far (the
        consumer's commit takes :attr:`lock`, see ``ScoringApp``)."""
        if self.app.rebalancing:
            return False
        committed = await self.app.consumer.commit()
        if committed:
            self.metrics.commits.inc()
        return bool(committed)


def _put(table: Collection, partition: int, key: bytes, value: bytes) -> None:
    """Write a table's store without Faust's changelog buffer (the caller sends the message)."""
    store = table.data
    store[key] = value
    key_partition = getattr(store, "_key_partition", None)
    if key_partition is not None:
        # The memory store drops keys of partitions no longer assigned after a rebalance; it
        # only knows the partition of keys it restored, so tell it about live writes too.
        key_partition[key] = partition
