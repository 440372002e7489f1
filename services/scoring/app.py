"""The Faust app of the scoring workers, built by :func:`create_app` (no import-time globals).

One agent, ``score_entities``, consumes every source topic (co-partitioned: same partition
count, keyed by entity key, so Faust's assignor gives partition *p* of all of them to one
worker). Two tables, both in memory and rebuilt from their changelogs when a worker starts
or takes over a partition:

- ``entity_to_versions``: entity key → the entity's versions (``processors.EntityState``);
- ``counter_to_value``: ``"{unit_id}|{measure}|{day}|{partition}"`` → the counter message. Its
  changelog *is* the compacted ``kpi-counters`` topic: the absolute value of every changed
  counter is published before the offsets that changed it are committed. After each restore
  the counters are rebuilt from the entities and the ones that differ published again.

Why this is exact (at least once, idempotent updates) is explained in
:mod:`services.scoring.agents`. Several workers with the same app
id share the partitions; each needs its own ``scoring_port`` and ``scoring_data_dir``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import faust
from faust.tables.base import Collection
from faust.types import TP, ConsumerT
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.scoring.agents import DeadLetters, Scorer
from services.scoring.metrics import ScoringMetrics
from thidua.contracts.plans import load_plans
from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical
from thidua.heap import FULL_COLLECT_SECONDS, collect_frozen
from thidua.http_guard import SECURITY_HEADERS
from thidua.settings import ScoringSettings

log = logging.getLogger(__name__)

# Faust never commits on its own timer: our commit task does (and counts it).
_NEVER = 10**9


def broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


async def _security_headers(_request: Any, response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = "thidua"  # aiohttp would name itself and its version


class ScoringApp(faust.App):
    """A Faust app whose consumer restores changelogs whole, hands source records to the
    agent a fetch at a time and leaves offsets to the scorer."""

    scorer: Scorer
    source_batches: faust.ChannelT[list[Any]]
    source_names: frozenset[str]
    # Source partitions of the last assignment (None before the first one).
    scoring_partitions: int | None = None

    def on_webserver_init(self, web: Any) -> None:
        # Every answer of the worker's web carries the security headers, and no version banner.
        web.web_app.on_response_prepare.append(_security_headers)

    def _new_consumer(self) -> ConsumerT:
        consumer = super()._new_consumer()
        _recover_up_to_end_offsets(consumer)
        # Faust drops a message whose offset is below the last one it read (and around a
        # seek that loses events, see ``positions``): deliver everything, the scorer sorts.
        consumer._read_offset = _NothingRead()  # type: ignore[attr-defined]
        _seek_to_scorer_positions(self, consumer)
        _deliver_source_batches(self, consumer)
        return consumer


class SourceRecord(NamedTuple):
    """A source record as the scorer reads it (what it needs of Faust's ``Message``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    tp: TP


def _deliver_source_batches(app: ScoringApp, consumer: ConsumerT) -> None:
    """The source records of each fetch go to the agent as one list (its channel
    ``source_batches``); changelog records being restored take Faust's usual path.

    Faust's own loop hands each record to its topic's queue through four tasks and an
    ``asyncio.wait`` (so that a rebalance can interrupt a blocked put), then the stream takes
    it out again: about 60 µs of a worker's CPU per event, as much as the scoring itself.
    Its ``getmany`` then builds a ``Message`` per record and asks for the partition's
    highwater on the way (a quarter of the worker's wait for input). Here a fetch is read as
    Faust's ``getmany`` reads it (same flow, generation and partition checks) and each source
    record becomes a small tuple. Faust's acknowledgements are not used (the scorer commits
    its own positions), so the records need no tracking either. A fetch cut short by a
    rebalance is not delivered, as Faust drops it, but its records are put back (``put_back``):
    the scorer reads on from its positions, a recovery from where it sought.
    """
    source_names = app.source_names
    read_to = positions_after_fetch(consumer)

    async def give_back(records: Mapping[Any, Sequence[Any]]) -> None:
        for tp in await put_back(consumer, records, dict(read_to)):
            kind = "source" if tp.topic in source_names else "changelog"
            app.scorer.metrics.put_back.labels(kind).inc(len(records[tp]))

    async def fetch() -> tuple[list[SourceRecord], list[Any]]:
        """(source records, changelog messages) of the next fetch: ``Consumer.getmany``."""
        records, active = await consumer._wait_next_records(1.0)  # type: ignore[attr-defined]
        generation = app.consumer_generation_id
        if records is None or consumer.should_stop:
            return [], []
        if not consumer.flow_active:  # type: ignore[attr-defined]
            await give_back(records)
            try:  # as getmany: a fetch while the flow is stopped seeks back
                await consumer.perform_seek()
            except Exception as exc:  # noqa: BLE001 - Faust's getmany only warns too
                log.warning("exception performing seek when flow not active %r", exc)
            return [], []
        buffered = consumer._buffered_partitions  # type: ignore[attr-defined]
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
                changelog.extend(consumer._to_message(tp, r) for r in batch)  # type: ignore[attr-defined]
        if app.consumer_generation_id != generation:
            await give_back(records)
            return [], []  # a rebalance began meanwhile: Faust drops the rest of the fetch
        return sources, changelog

    async def drain_messages(fetcher: Any) -> None:
        callback = consumer.callback  # type: ignore[attr-defined]
        suspended = consumer.suspend_flow.wait  # type: ignore[attr-defined]
        wait_first = consumer.wait_first  # type: ignore[attr-defined]
        consumer_stopped = consumer._stopped.is_set  # type: ignore[attr-defined]
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                await consumer.sleep(0)  # type: ignore[attr-defined]
                if consumer.should_stop:
                    continue
                sources, changelog = await fetch()
                for message in changelog:
                    await wait_first(callback(message), suspended())
                if sources:
                    # (a channel's queue holds what is put: here a list, not an event)
                    batch: Any = sources
                    await wait_first(app.source_batches.put(batch), suspended())
        except consumer.consumer_stopped_errors:  # type: ignore[attr-defined]
            if app.should_stop:
                log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if app.should_stop:
                log.info("Consumer shutting down for user cancel.")
                return
            raise

    consumer._drain_messages = drain_messages  # type: ignore[attr-defined]


async def put_back(
    consumer: ConsumerT, records: Mapping[Any, Sequence[Any]], read_to: Mapping[Any, int]
) -> list[Any]:
    """Undo the reading of fetched records that are not delivered: seek each partition back
    to its first one, unless it was sought elsewhere since (its position is no longer
    ``read_to``, where the fetch left it).

    A fetch that was waiting when a rebalance stopped the flow can return records read after
    the recovery sought a changelog partition to its start; Faust's ``getmany`` drops such a
    fetch, and the consumer's position stays past records the recovery never saw: it then
    waits for them forever (the worker keeping partitions 2 and 3 in the two-worker test,
    now and then). Source partitions are sought by the scorer's positions anyway.
    """
    starts = {tp: batch[0].offset for tp, batch in records.items() if batch and tp in read_to}
    if not starts:
        return []
    thread = consumer._thread  # type: ignore[attr-defined]

    async def rewind() -> list[tuple[Any, int, int]]:
        client = thread._ensure_consumer()
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

    rewound: list[tuple[Any, int, int]] = await thread.call_thread(rewind)
    if rewound:
        spans = (f"{tp.topic}[{tp.partition}] {first}..{end - 1}" for tp, first, end in rewound)
        log.info("put back records fetched but not delivered: %s", ", ".join(sorted(spans)))
    return [tp for tp, _, _ in rewound]


def positions_after_fetch(consumer: ConsumerT) -> dict[Any, int]:
    """Where each fetch left the consumer's position of its partitions (``put_back``),
    noted in the consumer's thread as the fetch returns."""
    thread = consumer._thread  # type: ignore[attr-defined]
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


def _assignment(client: Any) -> Any:
    """The aiokafka consumer's current assignment (partition states), or None."""
    subscription = client._subscription.subscription
    return subscription.assignment if subscription is not None else None


def _seek_to_scorer_positions(app: ScoringApp, consumer: ConsumerT) -> None:
    """After a restore Faust seeks the source partitions to their committed offsets, but a
    partition never committed is not sought at all: it stays wherever the fetches made
    while the streams were suspended left it (past records Faust dropped), and those events
    would never be scored. Seek every partition to where the scorer resumes.

    Faust also calls ``perform_seek`` from ``getmany`` whenever its flow is suspended (during
    any rebalance), so the scorer's positions are started by its reconcile, not here."""
    perform_seek = consumer.perform_seek

    async def seek_everything() -> None:
        await perform_seek()
        await seek_in_thread(consumer, app.scorer.positions.starts())

    consumer.perform_seek = seek_everything  # type: ignore[method-assign]


class _NothingRead(dict):  # type: ignore[type-arg]
    """Faust's per-partition "last offset read", always unknown: no drop, no gap filling."""

    def __getitem__(self, key: Any) -> None:
        return None

    def get(self, key: Any, default: Any = None) -> None:
        return None


async def seek_in_thread(consumer: ConsumerT, offsets: Mapping[TP, int]) -> None:
    """Seek source partitions from the consumer's own thread. (Faust's ``consumer.seek``
    calls aiokafka from the calling thread, racing the fetcher: seen as a ``KeyError`` in
    aiokafka's ``fetched_records`` that crashed a worker.)"""
    if not offsets:
        return
    thread = consumer._thread  # type: ignore[attr-defined]

    async def seek() -> None:
        client = thread._ensure_consumer()
        for tp, offset in offsets.items():
            client.seek(tp, offset)

    await thread.call_thread(seek)


def start_offsets(consumer: ConsumerT) -> Callable[[set[TP]], Awaitable[dict[TP, int]]]:
    """Where scoring starts in each source partition: its committed offset, else (never
    committed) its first offset, as Faust's ``auto_offset_reset="earliest"`` reads it."""
    thread = consumer._thread  # type: ignore[attr-defined]

    async def read(partitions: tuple[TP, ...]) -> dict[TP, int]:
        from aiokafka import TopicPartition

        client = thread._ensure_consumer()
        tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        starts: dict[TP, int] = {}
        missing = []
        # All at once: one after the other took ~40 ms a partition (1.5 s a rebalance).
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
        found: dict[TP, int] = await thread.call_thread(read, tuple(partitions))
        return found

    return starts


def _recover_up_to_end_offsets(consumer: ConsumerT) -> None:
    """Make table recovery read each changelog up to its end, as the broker says now.

    Faust 0.15 may take the end from the last fetch of a partition (a worker that has never
    fetched a changelog partition it takes over would believe it empty); ``end_offsets``
    asks the broker.
    """
    thread = consumer._thread  # type: ignore[attr-defined]

    async def end_offsets(partitions: tuple[TP, ...]) -> Any:
        return await thread._ensure_consumer().end_offsets(list(partitions))

    async def highwaters(*partitions: TP) -> Any:
        return await thread.call_thread(end_offsets, partitions)

    consumer.highwaters = highwaters  # type: ignore[method-assign]


def create_app(
    settings: ScoringSettings,
    *,
    batch_size: int = 20_000,
    commit_seconds: float = 0.5,
    session_timeout: float = 10.0,
    replication_factor: int = 1,
) -> ScoringApp:
    """A scoring app; ``app.main()``/``faust.Worker(app)`` runs it (see ``main.run``)."""
    app = ScoringApp(
        settings.scoring_app_id,
        broker=broker_urls(settings.kafka_bootstrap),
        store="memory://",
        processing_guarantee="at_least_once",
        # Batches of the changelog sends (agents._send): fewer, larger produce requests.
        producer_max_batch_size=512 * 1024,
        # At most this many records a fetch, so one batch of the agent. A counter several
        # events of a batch change is published once a batch: larger batches publish fewer.
        broker_max_poll_records=batch_size,
        # Up to 4 MiB a partition a fetch (with 1 MiB the worker waited for input while its
        # fetches were refilled).
        consumer_max_fetch_size=4 * 1024 * 1024,
        topic_partitions=settings.topic_partitions,
        # Topics Faust declares itself (its assignor's leader topic) replicate like ours
        # (thidua.kafka_admin); the changelog is created there before Faust starts.
        topic_replication_factor=replication_factor,
        producer_acks=-1,  # acks=all: a counter is published once two replicas hold it
        topic_allow_declare=True,
        table_standby_replicas=0,
        broker_commit_interval=_NEVER,
        broker_commit_every=_NEVER,
        # A SIGKILLed worker's partitions move after this long (Kafka's 45 s is slow for KPIs).
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=min(3.0, session_timeout / 4),
        datadir=str(settings.scoring_data_dir),
        web_bind=settings.scoring_host,
        web_host=settings.scoring_host,
        web_port=settings.scoring_port,
        # Only our /metrics, /healthz and /readyz: Faust's /table pages read any key of the
        # tables, /router and the stats and graph pages are not for the network (one worker
        # per partition set routes nothing).
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    prefix = settings.topic_prefix
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    source_names = [physical(topic, prefix) for topic in SOURCE_TOPICS]
    sources = app.topic(*source_names, **raw)
    # Subscribed here; their records reach the agent through ``source_batches``.
    app.topics.add(sources)
    app.source_names = frozenset(source_names)
    app.source_batches = app.channel(maxsize=4)
    counters_topic = app.topic(
        physical(Topic.KPI_COUNTERS, prefix),
        partitions=settings.topic_partitions,
        compacting=True,
        deleting=False,
        internal=True,
        **raw,
    )
    table_types: dict[str, Any] = {"key_type": bytes, "value_type": bytes}  # app: raw codecs
    entities = app.Table(
        "entity_to_versions",
        partitions=settings.topic_partitions,
        help="entity → versions",
        **table_types,
    )
    counters = app.Table(
        "counter_to_value",
        partitions=settings.topic_partitions,
        changelog_topic=counters_topic,
        help="counter → kpi-counters message",
        **table_types,
    )
    metrics = ScoringMetrics()
    dead_letters = DeadLetters(settings.kafka_bootstrap, prefix)
    scorer = Scorer(
        app,
        entities=cast(Collection, entities),
        counters=cast(Collection, counters),
        source_topics=frozenset(source_names),
        indicator_ids=load_plans(settings.plans_dir).indicator_ids(),
        metrics=metrics,
        dead_letters=dead_letters,
        lock=asyncio.Lock(),
        start_offsets=lambda partitions: start_offsets(app.consumer)(partitions),
        seek=lambda tp, offset: seek_in_thread(app.consumer, {tp: offset}),
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # (Faust's own signature)
    async def forget_tables(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        # After every rebalance Faust restores each assigned partition of an in-memory table
        # from its changelog, kept partitions included; it resumes those from where their last
        # restore stopped (right for a store that kept its data). The scorer empties its stores
        # here, so the restore must read every changelog from its start.
        await scorer.forget()
        app.tables.recovery.active_offsets.clear()  # type: ignore[attr-defined]

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # (Faust's own signature)
    async def report_assignment(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        count = report_idle(assigned, app.source_names, settings)  # type: ignore[attr-defined]
        metrics.assigned_partitions.set(count)
        app.scoring_partitions = count  # type: ignore[attr-defined]

    # Once the tables are restored (all of them: Faust calls recovery callbacks only then),
    # before the streams resume.
    async def reconcile() -> None:
        await scorer.reconcile()

    counters.on_recover(reconcile)

    @app.agent(app.source_batches, name="score_entities")
    async def score_entities(stream: faust.StreamT[list[Any]]) -> None:
        async for messages in stream:
            await scorer.score_batch(messages)

    @app.timer(commit_seconds, name="commit_scored_batches")  # type: ignore[untyped-decorator]
    async def commit_scored_batches() -> None:
        await scorer.commit()

    @app.timer(FULL_COLLECT_SECONDS, name="collect_frozen_garbage")  # type: ignore[untyped-decorator]
    async def collect_frozen_garbage() -> None:
        collect_frozen()

    @app.page("/metrics")
    async def serve_metrics(web: View, request: Request) -> Response:
        _refresh_gauges(app, scorer, source_names)
        # aiohttp takes the charset apart from the content type
        content_type = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")
        return web.bytes(generate_latest(metrics.registry), content_type=content_type)

    @app.page("/healthz")
    async def serve_health(web: View, request: Request) -> Response:
        return web.json({"status": "ok", "app_id": settings.scoring_app_id})

    @app.page("/readyz")
    async def serve_readiness(web: View, request: Request) -> Response:
        ready = _ready(app)
        if ready and app.scoring_partitions == 0:
            # Ready as a standby (a rollout must not wait for it), and saying why it idles.
            return web.json({"ready": True, "idle": "no source partition assigned"})
        return web.json({"ready": ready}, status=200 if ready else 503)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # (Faust's own signature)
    async def close_dead_letters(app: faust.App, **kwargs: Any) -> None:
        dead_letters.close()

    app.scorer = scorer
    return app


def report_idle(assigned: set[TP], source_names: frozenset[str], settings: ScoringSettings) -> int:
    """How many source partitions the worker got; says why when none (a worker beyond the
    partition count waits as a standby for a partition to free up, e.g. a worker dying)."""
    partitions = {tp.partition for tp in assigned if tp.topic in source_names}
    if partitions:
        log.info("scoring partitions %s of %d", sorted(partitions), settings.topic_partitions)
    else:
        log.warning(
            "idle: no source partition assigned to this worker: the consumer group %s has more "
            "workers than the %d partitions of each source topic (THIDUA_TOPIC_PARTITIONS). "
            "It stands by for a partition to free up; to share the load, raise the partition "
            "count with a new topic generation (docs/SCALING.md) or run fewer workers",
            settings.scoring_app_id,
            settings.topic_partitions,
        )
    return len(partitions)


def _ready(app: faust.App) -> bool:
    """Partitions assigned and tables restored: counters published from here on are current."""
    try:
        recovered = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    if app.rebalancing or not recovered:
        return False
    standby = getattr(app, "scoring_partitions", None) == 0
    return standby or bool(app.consumer.assignment())


def _refresh_gauges(app: faust.App, scorer: Scorer, source_names: list[str]) -> None:
    metrics = scorer.metrics
    metrics.table_keys.labels("entity_to_versions").set(len(scorer.entities.data))
    metrics.table_keys.labels("counter_to_value").set(len(scorer.counters.data))
    metrics.consumer_lag.clear()
    try:
        assignment = app.consumer.assignment()
    except Exception:  # noqa: BLE001 - before the consumer starts there is nothing to report
        return
    for tp in assignment:
        if tp.topic not in source_names:
            continue
        highwater = app.consumer.highwater(tp)
        last = scorer.last_offsets.get(tp)
        if highwater is None:
            continue
        lag = highwater - (last + 1) if last is not None else None
        if lag is not None:
            metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(lag, 0))
