"""Every use the scoring worker makes of Faust's and aiokafka's internals, and nowhere else.

Written against faust-streaming 0.15.3, aiokafka 0.14.0 and mode-streaming 0.7.1
(:data:`WRITTEN_AGAINST`). ``tests/scoring/test_faust_internals.py`` pins the source of each
upstream function named below by its sha256 and checks each private name we use: a release
that changes one fails there. Then re-read the upstream change, update the patch, the hash.

The patches, each a small function or class below:

1. :class:`ConsumerHookApp` — ``App._new_consumer``: hands the new consumer to the patches.
2. :func:`deliver_source_batches` — replaces ``Consumer._drain_messages`` and reads a fetch
   as ``Consumer.getmany`` does (``_wait_next_records``, ``_buffered_partitions``,
   ``_to_message``, ``_stopped``).
3. :func:`positions_after_fetch` — wraps ``AIOKafkaConsumerThread._fetch_records``.
4. :func:`put_back` — seeks aiokafka's consumer back, reading its ``_subscription``.
5. :func:`deliver_every_offset` — replaces ``Consumer._read_offset``.
6. :func:`seek_after_restore` — wraps ``Consumer.perform_seek``.
7. :func:`client_thread` — the aiokafka consumer in Faust's consumer thread (``_thread``,
   ``_ensure_consumer``, ``call_thread``), the seam of :func:`put_back`,
   :func:`seek_in_thread` (instead of ``Consumer.seek``) and :func:`start_offsets`.
8. :func:`recover_up_to_end_offsets` — replaces ``Consumer.highwaters``.
9. :func:`restore_changelogs_whole` and :func:`recovery_completed` — ``Recovery``'s
   ``active_offsets`` and ``completed``.
10. :func:`store_values`, :func:`store_partitions`, :func:`store_writer`, :func:`clear_store`
    — the memory store's ``data`` and ``_key_partition`` dicts, written directly.
11. :class:`Checkpoint` — ``Producer._ensure_producer`` and ``Consumer._commit``: the
    protocol of quix-streams' ``Checkpoint.commit``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import faust
from faust.tables.base import Collection
from faust.types import TP, AppT, ChannelT, ConsumerT

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITTEN_AGAINST = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "mode-streaming": "0.7.1"}


class ConsumerHookApp(faust.App):
    """A Faust app that hands its consumer to :meth:`on_consumer_created` once built.

    Upstream: ``faust/app/base.py: App._new_consumer`` builds the consumer (lazily, on the
    first ``app.consumer``); Faust has no public hook there. We need one: every patch below
    replaces or wraps something on the consumer instance before it starts. If upstream
    renames it or builds the consumer elsewhere, no patch is applied: the worker runs
    Faust's own loop, dropping and losing events (see ``services.scoring.positions``)."""

    def on_consumer_created(self, consumer: ConsumerT) -> None:
        """Patch ``consumer`` (nothing here)."""

    def _new_consumer(self) -> ConsumerT:
        consumer = super()._new_consumer()
        self.on_consumer_created(consumer)
        return consumer


class SourceRecord(NamedTuple):
    """A source record as the scorer reads it (what it needs of Faust's ``Message``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    tp: TP


def deliver_source_batches(
    app: AppT,
    consumer: ConsumerT,
    *,
    source_names: frozenset[str],
    batches: Callable[[], ChannelT[list[Any]]],
    on_put_back: Callable[[TP, int], None],
) -> None:
    """The source records of each fetch go to ``batches()`` as one list; changelog records
    being restored take Faust's usual path (the consumer's ``callback``).

    Upstream: ``faust/transport/consumer.py: Consumer._drain_messages`` (run by
    ``Fetcher._fetcher``) iterates ``Consumer.getmany``, which converts every record to a
    ``Message`` (``_to_message``), asks its partition's highwater, and hands each message to
    its topic's queue through four tasks and an ``asyncio.wait``; the stream then takes it
    out again. That costs a worker as much CPU per event as the scoring itself. Here a fetch
    is read as ``getmany`` reads it (same flow, generation and partition checks: the copied
    part) and each source record becomes a :class:`SourceRecord`. Faust's acknowledgements
    are not used (the scorer commits its own positions), so records need no tracking. A
    fetch cut short by a rebalance is not delivered, as Faust drops it, but its records are
    put back (:func:`put_back`, counted by ``on_put_back``).

    If upstream changes ``getmany``'s checks, ours are stale; if it renames
    ``_drain_messages`` (or stops calling it on the instance), Faust's loop runs instead and
    the agent never gets a batch; if ``_wait_next_records``, ``_buffered_partitions``,
    ``_to_message`` or ``_stopped`` change, the loop raises.
    """
    read_to = positions_after_fetch(consumer)
    thread = client_thread(consumer)
    raw: Any = consumer  # what ConsumerT does not declare

    async def give_back(records: Mapping[Any, Sequence[Any]]) -> None:
        for tp in await put_back(thread, records, dict(read_to)):
            on_put_back(tp, len(records[tp]))

    async def fetch() -> tuple[list[SourceRecord], list[Any]]:
        """(source records, changelog messages) of the next fetch: ``Consumer.getmany``."""
        records, active = await raw._wait_next_records(1.0)
        generation = app.consumer_generation_id
        if records is None or raw.should_stop:
            return [], []
        if not raw.flow_active:
            await give_back(records)
            try:  # as getmany: a fetch while the flow is stopped seeks back
                await consumer.perform_seek()
            except Exception as exc:  # noqa: BLE001 - Faust's getmany only warns too
                log.warning("exception performing seek when flow not active %r", exc)
            return [], []
        buffered = raw._buffered_partitions
        sources: list[SourceRecord] = []
        changelog: list[Any] = []
        for tp, batch in records.items():
            if active is not None and tp not in active and tp not in buffered:
                await give_back({tp: batch})
                continue
            if tp.topic in source_names:
                topic, partition = tp.topic, tp.partition
                sources.extend(
                    SourceRecord(topic, partition, r.offset, r.key, r.value, tp) for r in batch
                )
            else:
                changelog.extend(raw._to_message(tp, r) for r in batch)
        if app.consumer_generation_id != generation:
            await give_back(records)
            return [], []  # a rebalance began meanwhile: Faust drops the rest of the fetch
        return sources, changelog

    async def drain_messages(fetcher: Any) -> None:
        callback = raw.callback
        suspended = raw.suspend_flow.wait
        wait_first = raw.wait_first
        consumer_stopped = raw._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                await raw.sleep(0)
                if raw.should_stop:
                    continue
                sources, changelog = await fetch()
                for message in changelog:
                    await wait_first(callback(message), suspended())
                if sources:
                    # (a channel's queue holds what is put: here a list, not an event)
                    batch: Any = sources
                    await wait_first(batches().put(batch), suspended())
        except raw.consumer_stopped_errors:
            if app.should_stop:
                log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if app.should_stop:
                log.info("Consumer shutting down for user cancel.")
                return
            raise

    raw._drain_messages = drain_messages


class ClientThread(Protocol):
    """Runs calls on an aiokafka consumer from the thread that owns it (the seam of
    :func:`put_back`, :func:`seek_in_thread` and :func:`start_offsets`: a test passes its
    own client)."""

    def client(self) -> AIOKafkaConsumer: ...

    async def call(self, method: Callable[..., Awaitable[T]], *args: Any) -> T: ...


class _FaustConsumerThread:
    def __init__(self, consumer: ConsumerT) -> None:
        self.thread: Any = consumer._thread  # type: ignore[attr-defined]

    def client(self) -> AIOKafkaConsumer:
        client: AIOKafkaConsumer = self.thread._ensure_consumer()
        return client

    async def call(self, method: Callable[..., Awaitable[T]], *args: Any) -> T:
        result: T = await self.thread.call_thread(method, *args)
        return result


def client_thread(consumer: ConsumerT) -> ClientThread:
    """The aiokafka consumer of Faust's ``consumer``, called from its own thread.

    Upstream: ``faust/transport/consumer.py: ThreadDelegateConsumer.__init__`` keeps an
    ``AIOKafkaConsumerThread`` in ``_thread``; ``faust/transport/drivers/aiokafka.py:
    AIOKafkaConsumerThread._ensure_consumer`` returns its aiokafka consumer, and
    ``mode/threads.py: ServiceThread.call_thread`` runs a coroutine in that thread. Faust
    offers no public way to seek in its thread, read committed offsets or end offsets as
    we need them. If any of the three is renamed, every call through here raises."""
    return _FaustConsumerThread(consumer)


def positions_after_fetch(consumer: ConsumerT) -> dict[Any, int]:
    """Where each fetch left the consumer's position of its partitions (:func:`put_back`),
    noted in the consumer's thread as the fetch returns.

    Upstream: ``faust/transport/drivers/aiokafka.py: AIOKafkaConsumerThread.getmany`` calls
    ``self._fetch_records`` in the thread; we wrap that instance attribute to read the
    positions before any other call of the thread can move them. If ``getmany`` stops
    calling it, nothing is noted and :func:`put_back` puts nothing back (a recovery may then
    wait forever for records a dropped fetch read past)."""
    thread = _FaustConsumerThread(consumer).thread
    fetch_records = thread._fetch_records
    read_to: dict[Any, int] = {}

    async def fetch_noting_positions(client: Any, *args: Any, **kwargs: Any) -> Any:
        records = await fetch_records(client, *args, **kwargs)
        read_to.clear()
        assignment = _assignment(client) if records else None
        if assignment is not None:
            for tp in records:
                state = assignment.state_value(tp)
                if state is not None and state.has_valid_position:
                    read_to[tp] = state.position
        return records

    thread._fetch_records = fetch_noting_positions
    return read_to


async def put_back(
    thread: ClientThread, records: Mapping[Any, Sequence[Any]], read_to: Mapping[Any, int]
) -> list[Any]:
    """Undo the reading of fetched records that are not delivered: seek each partition back
    to its first one, unless it was sought elsewhere since (its position is no longer
    ``read_to``, where the fetch left it).

    Upstream: ``faust/transport/consumer.py: Consumer.getmany`` drops such a fetch and
    leaves the position past it. A fetch that was waiting when a rebalance stopped the flow
    can return records read after the recovery sought a changelog partition to its start:
    the recovery then waits for them forever (seen in the two-worker test). Source
    partitions are sought by the scorer's positions anyway. The partition states are
    aiokafka's (``aiokafka/consumer/subscription_state.py``: ``Assignment.state_value``,
    ``TopicPartitionState.position``), read through ``AIOKafkaConsumer._subscription``; if
    they change, this raises in the consumer thread.
    """
    starts = {tp: batch[0].offset for tp, batch in records.items() if batch and tp in read_to}
    if not starts:
        return []

    async def rewind() -> list[tuple[Any, int, int]]:
        client = thread.client()
        assignment = _assignment(client)
        rewound = []
        for tp, first in starts.items():
            if assignment is None or tp not in assignment.tps:
                continue  # revoked: whoever takes it starts from its own offsets
            state = assignment.state_value(tp)
            if state.has_valid_position and state.position == read_to[tp]:
                client.seek(tp, first)
                rewound.append((tp, first, read_to[tp]))
        return rewound

    rewound = await thread.call(rewind)
    if rewound:
        spans = (f"{tp.topic}[{tp.partition}] {first}..{end - 1}" for tp, first, end in rewound)
        log.info("put back records fetched but not delivered: %s", ", ".join(sorted(spans)))
    return [tp for tp, _, _ in rewound]


def _assignment(client: Any) -> Any:
    """The aiokafka consumer's current assignment (partition states), or None."""
    subscription = client._subscription.subscription
    return subscription.assignment if subscription is not None else None


class _NothingRead(dict):  # type: ignore[type-arg]
    """Faust's per-partition "last offset read", always unknown: no drop, no gap filling."""

    def __getitem__(self, key: Any) -> None:
        return None

    def get(self, key: Any, default: Any = None) -> None:
        return None


def deliver_every_offset(consumer: ConsumerT) -> None:
    """Faust's "last offset read" of every partition stays unknown.

    Upstream: ``faust/transport/consumer.py: Consumer._drain_messages`` drops a message
    whose offset is below ``_read_offset[tp]`` (and fills "gaps" above it), and
    ``perform_seek``, ``seek`` and ``AIOKafkaConsumerThread._seek_wait`` set it: around a
    seek that loses events (see ``services.scoring.positions``). We deliver everything; the
    scorer sorts. Our :func:`deliver_source_batches` does not read it at all: this guards
    any other upstream path that would. If upstream renames ``_read_offset``, the assignment
    is silently useless; if it reads it in a new way (``items()``), offsets go missing.
    """
    consumer._read_offset = _NothingRead()  # type: ignore[attr-defined]


def seek_after_restore(consumer: ConsumerT, starts: Callable[[], Mapping[TP, int]]) -> None:
    """After Faust seeks the partitions to their committed offsets, seek every source
    partition to ``starts()``, where the scorer resumes.

    Upstream: ``faust/transport/consumer.py: Consumer.perform_seek`` (called by
    ``faust/tables/recovery.py: Recovery.on_recovery_completed`` after a restore) seeks only
    partitions with a committed offset: one never committed stays wherever the fetches
    made while the streams were suspended left it (past records Faust dropped), and those
    events would never be scored. ``Consumer.getmany`` calls it too whenever its flow is
    suspended (any rebalance), so the scorer's positions are started by its reconcile, not
    here. If upstream stops calling ``perform_seek`` on the instance, events are lost.
    """
    perform_seek = consumer.perform_seek

    async def seek_everything() -> None:
        await perform_seek()
        await seek_in_thread(client_thread(consumer), starts())

    consumer.perform_seek = seek_everything  # type: ignore[method-assign]


async def seek_in_thread(thread: ClientThread, offsets: Mapping[TP, int]) -> None:
    """Seek partitions from the consumer's own thread.

    Upstream: ``faust/transport/consumer.py: Consumer.seek`` →
    ``ThreadDelegateConsumer._seek`` → ``AIOKafkaConsumerThread.seek`` calls aiokafka from
    the calling thread, racing the fetcher (seen as a ``KeyError`` in aiokafka's
    ``fetched_records`` that crashed a worker). If upstream moves the seek into its thread,
    this is no longer needed."""
    if not offsets:
        return

    async def seek() -> None:
        client = thread.client()
        for tp, offset in offsets.items():
            client.seek(tp, offset)

    await thread.call(seek)


def start_offsets(thread: ClientThread) -> Callable[[set[TP]], Awaitable[dict[TP, int]]]:
    """Where scoring starts in each source partition: its committed offset, else (never
    committed) its first offset, as Faust's ``auto_offset_reset="earliest"`` reads it.

    Upstream: Faust keeps committed offsets only of partitions it sought
    (``Consumer.perform_seek``) and has no "committed, else earliest" call; aiokafka's
    ``AIOKafkaConsumer.committed`` and ``beginning_offsets`` are asked in Faust's consumer
    thread (:func:`client_thread`). If their signatures change, the reconcile raises."""

    async def read(partitions: tuple[TP, ...]) -> dict[TP, int]:
        from aiokafka import TopicPartition

        client = thread.client()
        tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        starts: dict[TP, int] = {}
        missing = []
        # All at once: one partition after the other made every rebalance slow.
        offsets = await asyncio.gather(*(client.committed(tp) for tp in tps))
        for tp, committed in zip(tps, offsets, strict=True):
            if committed is None:
                missing.append(tp)
            else:
                starts[TP(tp.topic, tp.partition)] = committed
        if missing:
            for tp, offset in (await client.beginning_offsets(missing)).items():
                starts[TP(tp.topic, tp.partition)] = offset
        return starts

    async def starts(partitions: set[TP]) -> dict[TP, int]:
        return await thread.call(read, tuple(partitions))

    return starts


def recover_up_to_end_offsets(consumer: ConsumerT) -> None:
    """Make table recovery read each changelog up to its end, as the broker says now.

    Upstream: ``faust/transport/drivers/aiokafka.py: AIOKafkaConsumerThread._highwaters``
    (``Consumer.highwaters``, read by ``faust/tables/recovery.py:
    Recovery._build_highwaters``) takes the end from the last fetch of each partition
    (``last_stable_offset``) when ``consumer.in_transaction``: a worker that has never
    fetched a changelog partition it takes over would believe it empty. Under our
    ``at_least_once`` it asks ``end_offsets`` as we do; this keeps the recovery right
    whatever the guarantee. If upstream stops calling ``highwaters`` on the instance, the
    patch is ignored (harmless under ``at_least_once``).
    """
    thread = client_thread(consumer)

    async def end_offsets(partitions: tuple[TP, ...]) -> Any:
        return await thread.client().end_offsets(list(partitions))

    async def highwaters(*partitions: TP) -> Any:
        return await thread.call(end_offsets, partitions)

    consumer.highwaters = highwaters  # type: ignore[method-assign]


def restore_changelogs_whole(app: AppT) -> None:
    """Make the next restore read every changelog from its start.

    Upstream: ``faust/tables/recovery.py: Recovery.on_rebalance`` keeps the restored offset
    (``active_offsets``) of each partition the worker keeps, and resumes its restore from
    there: right for a store that kept its data. The scorer empties its stores at every
    revocation (:func:`clear_store`), so those offsets must go too. If upstream renames
    ``active_offsets``, this raises; if it keeps them elsewhere, a kept partition's table
    is restored only from its last offset: entities and counters go missing."""
    app.tables.recovery.active_offsets.clear()  # type: ignore[attr-defined]


def recovery_completed(app: AppT) -> bool:
    """Whether the tables are restored (upstream: ``faust/tables/recovery.py:
    Recovery.on_recovery_completed`` sets ``Recovery.completed``). Raises AttributeError
    before the app has a recovery; if upstream renames it, readiness never comes."""
    completed: bool = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
    return completed


def store_values(table: Collection) -> dict[bytes, bytes]:
    """The dict behind ``table``'s memory store.

    Upstream: ``faust/stores/memory.py: Store.__post_init__`` creates ``data``; the
    store's ``Mapping`` methods go through ``Store.__getitem__``, raising and catching a
    ``KeyError`` for every absent key (most keys a batch looks up are new). If upstream
    renames ``data`` or stops keeping values there, this raises or reads stale values."""
    values: dict[bytes, bytes] = table.data.data
    return values


def store_partitions(table: Collection) -> dict[bytes, int]:
    """The partition of each key of ``table``'s memory store.

    Upstream: ``faust/stores/memory.py: Store._key_partition`` is filled by
    ``Store._create_batch_iterator`` for restored keys only, and read by
    ``Store.on_recovery_completed`` to drop keys of partitions no longer assigned. If
    upstream renames it, this returns an empty dict: the reconcile sees no counter."""
    where: dict[bytes, int] = getattr(table.data, "_key_partition", {})
    return where


def store_writer(table: Collection) -> Callable[[int, bytes, bytes], None]:
    """``put(partition, key, value)``: writes ``table``'s memory store straight into its
    dicts, without Faust's changelog buffer (the caller sends the message).

    Upstream: ``faust/tables/table.py: Table._set_key`` writes the store, then
    ``Table.on_key_set`` sends one changelog message per write (``Collection.send_changelog``:
    a future each, through Faust's producer buffer). Ours are sent in batches
    (:class:`Checkpoint`). The store only knows the partition of keys it restored; live
    writes are recorded too (:func:`store_partitions`), or a rebalance would keep keys of a
    partition no longer assigned."""
    values = store_values(table)
    where = store_partitions(table)

    def put(partition: int, key: bytes, value: bytes) -> None:
        values[key] = value
        where[key] = partition

    return put


def clear_store(table: Collection) -> None:
    """Empty ``table``'s memory store, keys and their partitions (see :func:`store_values`,
    :func:`store_partitions`; upstream: ``faust/stores/memory.py: Store._clear`` empties
    ``data`` only)."""
    store_values(table).clear()
    store_partitions(table).clear()


class Checkpoint:
    """The scorer's checkpoint, the protocol of quix-streams'
    ``checkpointing/checkpoint.py: Checkpoint.commit``: produce the changelogs → flush the
    producer → commit the offsets → flush the stores.

    Here the steps are pipelined: :meth:`produce` sends a batch's changelog messages and
    returns what to await for the broker's acknowledgement (the flush: the scorer awaits
    it before the batch's positions become committable, ``Scorer._deliver``); :meth:`commit`
    then commits those positions. The stores need no flush: memory stores, written before
    their messages are produced, and rebuilt from the changelogs at every restore.

    Upstream: ``faust/transport/drivers/aiokafka.py: Producer._ensure_producer`` gives the
    aiokafka producer (Faust's ``send`` makes one future per message and goes through its
    producer buffer); ``faust/transport/consumer.py: ThreadDelegateConsumer._commit``
    commits given offsets (``Consumer.commit`` commits only what Faust's acknowledgements
    tracked, which we do not use). If either is renamed, the first batch or commit raises.
    """

    def __init__(self, app: AppT) -> None:
        self.app = app

    async def produce(self, outgoing: Iterable[tuple[str, int, bytes, bytes]]) -> list[Any]:
        """Send ``(topic, partition, key, value)`` messages in order per partition; returns
        what to await for the broker's acknowledgement (records go straight into aiokafka
        batches: one future per batch, not per message)."""
        producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]
        futures: list[Any] = []
        batches: dict[tuple[str, int], Any] = {}
        for topic, partition, key, value in outgoing:
            slot = (topic, partition)
            batch = batches.get(slot)
            if batch is None:
                batch = batches[slot] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                futures.append(await producer.send_batch(batch, slot[0], partition=slot[1]))
                batch = batches[slot] = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"a {len(value)}-byte message exceeds a batch")
        for slot, batch in batches.items():
            if batch.record_count():
                futures.append(await producer.send_batch(batch, slot[0], partition=slot[1]))
        return futures

    async def commit(self, offsets: Mapping[TP, int]) -> bool:
        """Commit ``offsets`` (next offsets to read); False when a rebalance came first."""
        committed = await self.app.consumer._commit(offsets)  # type: ignore[attr-defined]
        return bool(committed)
