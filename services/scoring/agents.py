"""The scoring agent: source events → entity versions → ``kpi-counters``, at least once, with
idempotent updates.

Why that is exact: the only state that matters is the entity table (entity key → the entity's
versions). Adding an event to its entity is idempotent (``(source, id)`` dedupe, order-free
merge: ``processors.state``), so scoring an event again after a crash, a rebalance or a SIGKILL
changes nothing. The counters are *derived* state: the sum of every entity's contribution.
They are kept up to date incrementally between restores, and at every restore they are
rebuilt from the restored entities and compared with what ``kpi-counters`` last said; each
counter that differs is published again (:meth:`Scorer.reconcile`). ``kpi-counters`` carries
absolute values on a compacted topic, so publishing one twice is harmless.

What a batch must guarantee: its events are acknowledged (so their offsets can be committed)
only after every message it caused is acknowledged by the broker. A crash can then only leave
the changelogs *ahead* of the committed offsets, never behind: the events are scored again and
change nothing, and a counter message lost with the crash is repaired by the reconcile.

So nothing here needs Kafka transactions (exactly-once was the first design; why it went is
in git history: commit bf74660).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from itertools import islice
from typing import Any, NamedTuple, NoReturn

import orjson
from faust.tables.base import Collection
from faust.types import TP, AppT

from services.scoring.faust_internals import (
    Checkpoint,
    clear_store,
    store_partitions,
    store_values,
    store_writer,
)
from services.scoring.metrics import ScoringMetrics
from services.scoring.positions import Positions, Verdict
from services.scoring.processors import (
    Contribution,
    CounterKey,
    EntityState,
    Number,
    advance,
    contribution,
    exact,
)
from services.scoring.processors.measures import normalise
from services.scoring.processors.state import kept
from thidua.contracts.events import EventType, entity_key
from thidua.decode import Envelope, Refused, decode
from thidua.dlq import dead_letter, located
from thidua.heap import frozen_after

log = logging.getLogger(__name__)

STAGE = "scoring"


class Outgoing(NamedTuple):
    """A message to send (one per changed entity or counter of a batch)."""

    topic: str
    partition: int
    key: bytes
    value: bytes


def counter_key(unit_id: str, measure: str, day: str, partition: int) -> bytes:
    return f"{unit_id}|{measure}|{day}|{partition}".encode()


def counter_value(unit_id: str, measure: str, day: str, partition: int, value: Number) -> bytes:
    number: int | float = value if isinstance(value, int) else float(value)
    return kept(
        orjson.dumps(
            {
                "unit_id": unit_id,
                "measure": measure,
                "day": day,
                "partition": partition,
                "value": number,
            }
        )
    )


def counter_number(raw: bytes | None) -> Number:
    return exact(orjson.loads(raw)["value"]) if raw else 0


class DeadLetters:
    """The dead-letter topic (a letter may be written twice after a crash, never lost: the
    batch waits for the broker's acknowledgement)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._producer: Any = None

    def send(self, message: Any, reason: str) -> None:
        """Ingest's dead-letter format (so ``thidua replay-dlq`` replays it), with where the
        record was in the reason, as the writer's letters have it."""
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = KafkaProducer(
                bootstrap_servers=self._bootstrap.split(","), acks="all", linger_ms=5
            )
        letter = dead_letter(
            self._prefix,
            message.value or b"",
            message.key,
            located(reason, message.topic, message.partition, message.offset),
            STAGE,
            str(message.topic),
        )
        self._producer.send(
            letter.topic, key=letter.key, value=letter.value, headers=letter.headers
        )

    async def flush(self) -> None:
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 30)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)


class Scorer:
    """Scores batches of source events; publishes their messages before acknowledging them."""

    def __init__(
        self,
        app: AppT,
        *,
        entities: Collection,
        counters: Collection,
        source_topics: frozenset[str],
        indicator_ids: frozenset[str],
        metrics: ScoringMetrics,
        dead_letters: DeadLetters,
        lock: asyncio.Lock,
        start_offsets: Callable[[set[TP]], Awaitable[dict[TP, int]]],
        seek: Callable[[TP, int], Awaitable[None]],
        recent_limit: int = 100_000,
        in_flight: int = 6,
    ) -> None:
        self.app = app
        self.checkpoint = Checkpoint(app)
        self.start_offsets = start_offsets
        self.seek = seek
        self.positions: Positions[TP] = Positions()
        self.source_topics = source_topics
        self.entities = entities
        self.counters = counters
        self.indicator_ids = indicator_ids
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.lock = lock
        self.last_offsets: dict[TP, int] = {}
        # Decoded states of recently written entities and their contributions (``_remember``):
        # always what the entity store holds for them; emptied with the stores.
        self.recent: dict[bytes, tuple[EntityState, Contribution | None]] = {}
        self.recent_limit = recent_limit
        # Batches sent, whose acknowledgements are awaited in order (``_deliver``).
        self._deliveries: deque[asyncio.Future[None]] = deque()
        self.in_flight = in_flight
        # Source partitions whose tables are restored and reconciled: only their events are
        # scored (an event of another partition would be added to a store without its past).
        self.owned: frozenset[int] = frozenset()

    async def score_batch(self, messages: Sequence[Any]) -> None:
        """Score ``messages`` (source records, in order per partition) and send the resulting
        messages; their offsets may be committed once the broker has every one of them.

        The broker's acknowledgements are awaited in the background (:meth:`_deliver`), so
        the next batch is scored meanwhile; at most ``in_flight`` batches wait at once.
        Under :attr:`lock` (a revocation waits for the batch in hand and its delivery);
        shielded, so a shutdown cancelling the agent mid-batch does not cut it short."""
        await asyncio.shield(self._score_batch(messages))

    async def _score_batch(self, messages: Sequence[Any]) -> None:
        async with self.lock:
            started = time.perf_counter()
            scored = await self._taken(messages)
            with frozen_after():
                outgoing, letters = self.score(scored)
            try:
                acks = await self._issue(outgoing)
            except Exception:  # noqa: BLE001 - see _deliver
                _cannot_deliver()
            previous = self._deliveries[-1] if self._deliveries else None
            delivery = asyncio.ensure_future(
                self._deliver(previous, acks, letters, self.positions.mark(), started)
            )
            self._deliveries.append(delivery)
            self.metrics.batch_events.observe(len(scored))
            while len(self._deliveries) > self.in_flight:
                await self._deliveries[0]

    async def _deliver(
        self,
        previous: asyncio.Future[None] | None,
        acks: Sequence[Awaitable[Any]],
        letters: int,
        mark: dict[Any, int],
        started: float,
    ) -> None:
        """After the batch before, wait for the broker's acknowledgement of a batch's
        messages; its offsets may then be committed."""
        try:
            if previous is not None:
                await previous
            await asyncio.gather(*acks)
            if letters:
                await self.dead_letters.flush()
        except Exception:  # noqa: BLE001 - see _cannot_deliver
            _cannot_deliver()
        self.positions.delivered(mark)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self._deliveries.popleft()

    async def _settle(self) -> None:
        """Wait until every batch sent is acknowledged (and its positions durable)."""
        while self._deliveries:
            await self._deliveries[-1]

    async def _taken(self, messages: Sequence[Any]) -> list[Any]:
        """The messages to score (see ``positions``); seeks back over a hole. (A loop, not an
        awaited call per message: a coroutine each cost more than the check.)"""
        owned, classify = self.owned, self.positions.classify
        taken = []
        for message in messages:
            if message.partition not in owned:
                continue  # the partition's owner scores it from its committed offset
            verdict = classify(message.tp, message.offset)
            if verdict is Verdict.SCORE:
                taken.append(message)
            elif verdict is Verdict.SEEK:
                offset = self.positions.next_offset(message.tp)
                assert offset is not None  # a hole is only seen after a scored offset
                log.info(
                    "%s: offset %d came before %s: reading again",
                    message.tp,
                    message.offset,
                    offset,
                )
                self.metrics.seeks.inc()
                await self.seek(message.tp, offset)
        return taken

    async def reconcile(self) -> int:
        """After the tables are restored: rebuild every counter of the assigned partitions
        from the restored entities, publish each one that differs from the restored
        ``kpi-counters`` value, and start scoring those partitions. Returns the count."""
        async with self.lock:
            await self._settle()
            started = time.perf_counter()
            actives = self.app.assignor.assigned_actives()
            sources = {tp for tp in actives if tp.topic in self.source_topics}
            partitions = {tp.partition for tp in sources}
            truth = rebuild_counters(self.entities, partitions)
            published = self.counters.data
            where = store_partitions(self.counters)
            outgoing: list[Outgoing] = []
            counter_topic = self.counters.changelog_topic.get_topic_name()
            put = store_writer(self.counters)
            for (partition, unit_id, measure, day), total in truth.items():
                key = counter_key(unit_id, measure, day, partition)
                raw = published.get(key)
                if total == counter_number(raw):  # (absent reads as 0: a zero need not exist)
                    continue
                value = counter_value(unit_id, measure, day, partition, total)
                put(partition, key, value)
                outgoing.append(Outgoing(counter_topic, partition, key, value))
            for key, raw in list(store_values(self.counters).items()):
                if where.get(key) not in partitions or counter_number(raw) == 0:
                    continue
                slot = _counter_key_tuple(key)
                if slot in truth:
                    continue
                # Published, but no restored entity contributes to it (any more).
                partition, unit_id, measure, day = slot
                value = counter_value(unit_id, measure, day, partition, 0)
                put(partition, key, value)
                outgoing.append(Outgoing(counter_topic, partition, key, value))
            await self._send(outgoing)
            self.positions.start(await self.start_offsets(sources))
            self.owned = frozenset(partitions)
            self.metrics.counters_repaired.inc(len(outgoing))
            log.info(
                "reconciled partitions %s: %d counters from %d entities, %d republished (%.2f s)",
                sorted(partitions),
                len(truth),
                len(self.entities.data),
                len(outgoing),
                time.perf_counter() - started,
            )
            return len(outgoing)

    async def forget(self) -> None:
        """On revocation, after the batch in hand: stop scoring and empty the stores (every
        restore then reads the changelogs whole, see ``app``)."""
        async with self.lock:
            await self._settle()
            self.owned = frozenset()
            self.positions.clear()
            for table in (self.entities, self.counters):
                clear_store(table)
            self.last_offsets.clear()
            self.recent.clear()

    def score(self, messages: Iterable[Any]) -> tuple[list[Outgoing], int]:
        """Pure in-memory part: update the tables' stores, return the messages to send."""
        states: dict[bytes, tuple[int, EntityState]] = {}
        deltas: dict[tuple[int, CounterKey], Number] = {}
        types: dict[EventType, int] = {}
        letters = 0
        last_offsets = self.last_offsets
        for message in messages:
            last_offsets[message.tp] = message.offset
            scored = self._score_one(message, states, types)
            if scored is None:
                letters += 1
                continue
            partition = message.partition
            for counter, amount in scored.items():
                slot = (partition, counter)
                deltas[slot] = deltas.get(slot, 0) + amount
        for event_type, count in types.items():
            self.metrics.events.labels(event_type.value).inc(count)

        outgoing: list[Outgoing] = []
        entity_topic = self.entities.changelog_topic.get_topic_name()
        put = store_writer(self.entities)
        for key, (partition, state) in states.items():
            value = state.to_bytes()
            put(partition, key, value)
            outgoing.append(Outgoing(entity_topic, partition, key, value))
        counter_topic = self.counters.changelog_topic.get_topic_name()
        put = store_writer(self.counters)
        published = store_values(self.counters)
        for (partition, (unit_id, measure, day)), delta in deltas.items():
            if delta == 0:
                continue  # changes inside the batch cancelled out: the published value stands
            key = counter_key(unit_id, measure, day, partition)
            total = normalise(counter_number(published.get(key)) + delta)
            value = counter_value(unit_id, measure, day, partition, total)
            put(partition, key, value)
            outgoing.append(Outgoing(counter_topic, partition, key, value))
        return outgoing, letters

    def _score_one(
        self,
        message: Any,
        states: dict[bytes, tuple[int, EntityState]],
        types: dict[EventType, int],
    ) -> Contribution | None:
        """The counters' delta of one message, or None when it was dead-lettered."""
        decoded = self._decoded(message)
        if decoded is None:
            return None
        event, data = decoded
        try:
            key = entity_key(event.type, data).encode()
            state, known = self._state(key, states)
            new_state, new_known, delta = advance(
                state, known, event, indicator_ids=self.indicator_ids, data=data
            )
        except (ValueError, KeyError, TypeError) as exc:
            self._dead_letter(message, "invalid", exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the province's scoring
            self.metrics.errors.labels("apply").inc()
            log.exception(
                "scoring %s[%s]@%s failed", message.topic, message.partition, message.offset
            )
            self._dead_letter(message, "error", exc)
            return None
        if new_state is not None and new_state is not state:
            states[key] = (message.partition, new_state)
            self._remember(key, new_state, new_known)
        event_type = event.type
        types[event_type] = types.get(event_type, 0) + 1
        return delta

    def _decoded(self, message: Any) -> tuple[Envelope, dict[str, Any]] | None:
        """The envelope and validated data of a message, or None when it was dead-lettered."""
        try:
            return decode(message.value)
        except Refused as refused:
            self._dead_letter(message, refused.kind, refused.cause)
            return None

    def _state(
        self, key: bytes, states: dict[bytes, tuple[int, EntityState]]
    ) -> tuple[EntityState | None, Contribution | None]:
        """An entity's state (as this batch left it, else as stored), and its contribution
        when it is remembered."""
        recent = self.recent.get(key)
        if recent is not None:
            return recent
        if key in states:  # written by this batch, not remembered any more
            return states[key][1], None
        # (the store's own dict: Mapping.get raises and catches KeyError for a new entity)
        raw = store_values(self.entities).get(key)
        return (EntityState.from_bytes(raw) if raw else None), None

    def _remember(self, key: bytes, state: EntityState, known: Contribution | None) -> None:
        """Keep the latest states decoded, with their contributions, up to ``recent_limit``
        (the oldest written first out): an entity's events tend to come close together.

        The oldest quarter goes at once, into a new dict: deleting a dict's first key one at a
        time leaves a growing run of dead slots that every ``next(iter())`` walks again."""
        recent = self.recent
        recent.pop(key, None)
        recent[key] = (state, known)
        if len(recent) > self.recent_limit:
            keep = self.recent_limit * 3 // 4
            self.recent = dict(islice(recent.items(), len(recent) - keep, None))

    def _dead_letter(self, message: Any, kind: str, exc: BaseException) -> None:
        reason = f"{kind}: {type(exc).__name__}: {exc}"
        log.warning(
            "dead-lettering %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
        )
        self.dead_letters.send(message, reason)
        self.metrics.dead_letters.labels(kind).inc()

    async def _send(self, outgoing: Sequence[Outgoing]) -> None:
        """Send ``outgoing`` and wait for the broker's acknowledgement."""
        await asyncio.gather(*await self._issue(outgoing))

    async def _issue(self, outgoing: Sequence[Outgoing]) -> list[Awaitable[Any]]:
        """Send ``outgoing`` in order per partition; returns what to await for the broker's
        acknowledgement (records go straight into aiokafka batches: one future per batch,
        not per message)."""
        if not outgoing:
            return []
        futures: list[Awaitable[Any]] = await self.checkpoint.produce(outgoing)
        counter_topic = self.counters.changelog_topic.get_topic_name()
        self.metrics.counters_published.inc(sum(1 for m in outgoing if m.topic == counter_topic))
        return futures

    async def commit(self) -> bool:
        """Commit the positions of the batches the broker has acknowledged."""
        if self.app.rebalancing:
            return False
        offsets = self.positions.to_commit()
        if not offsets:
            return False
        committed = await self.checkpoint.commit(offsets)
        if committed:
            self.positions.committed(offsets)
            self.metrics.commits.inc()
        return committed


def _cannot_deliver() -> NoReturn:
    """A batch's messages cannot be delivered: exit. The batch's offsets are not committed;
    its messages may be partly written (harmless: the restart scores the events again and
    reconciles the counters). Going on would leave the published counters behind the tables.
    """
    log.critical("cannot deliver a batch's messages: exiting", exc_info=True)
    os._exit(70)


def rebuild_counters(
    entities: Collection, partitions: set[int]
) -> dict[tuple[int, str, str, str], Number]:
    """Every counter of ``partitions`` as the sum of the stored entities' contributions."""
    where = store_partitions(entities)
    totals: dict[tuple[int, str, str, str], Number] = {}
    for key, raw in store_values(entities).items():
        partition = where.get(key)
        if partition not in partitions or not raw:
            continue
        for (unit_id, measure, day), value in contribution(EntityState.from_bytes(raw)).items():
            slot = (partition, unit_id, measure, day)
            totals[slot] = totals.get(slot, 0) + value
    return {slot: normalise(total) for slot, total in totals.items()}


def _counter_key_tuple(key: bytes) -> tuple[int, str, str, str]:
    *unit, measure, day, partition = key.decode().split("|")
    return int(partition), "|".join(unit), measure, day
