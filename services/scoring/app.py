"""The Faust app of the scoring workers, built by :func:`create_app` (no import-time globals).

One agent, ``score_entities``, consumes every source topic (co-partitioned: same partition
count, keyed by entity key, so Faust's assignor gives partition *p* of all of them to one
worker). Two tables, both in memory and rebuilt from their changelogs when a worker starts
or takes over a partition:

- ``entity_to_versions``: entity key → the entity's versions (``processors.EntityState``);
- ``counter_to_value``: ``"{unit_id}|{measure}|{day}|{partition}"`` → the counter message. Its
  changelog *is* the compacted ``kpi-counters`` topic: the absolute value of every changed
  counter is published in the same transaction as the offsets that changed it.

Exactly once is explained in :mod:`services.scoring.agents`. Several workers with the same app
id share the partitions; each needs its own ``scoring_port`` and ``scoring_data_dir``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.types import TP, ConsumerT
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.scoring.agents import DeadLetters, Scorer
from services.scoring.metrics import ScoringMetrics
from thidua.contracts.criteria import load_criteria
from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical
from thidua.settings import ScoringSettings

log = logging.getLogger(__name__)

# Faust never commits on its own timer (see agents): our commit task does, between batches.
_NEVER = 10**9


def broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


class ScoringApp(faust.App):
    """A Faust app whose consumer commits only between scored batches (see ``agents``)."""

    batch_lock: asyncio.Lock
    scorer: Scorer

    def _new_consumer(self) -> ConsumerT:
        consumer = super()._new_consumer()
        _commit_between_batches(self, consumer, self.batch_lock)
        _recover_up_to_end_offsets(consumer)
        _acknowledge_each_offset_once(self, consumer)
        return consumer


def _commit_between_batches(app: faust.App, consumer: ConsumerT, lock: asyncio.Lock) -> None:
    """Every commit waits for the batch in hand (see ``agents``), and none runs once Faust has
    ended the transactions (``start_new_transaction=False``, on shutdown and before a
    rebalance) until they begin again: Faust's shutdown commits twice, and events
    acknowledged in between (re-deliveries, already counted) cannot go anywhere."""
    commit = consumer.commit
    ended = False

    async def commit_whole_batches(*args: Any, **kwargs: Any) -> bool:
        nonlocal ended
        async with lock:
            if ended:
                return False
            committed = bool(await commit(*args, **kwargs))
            if kwargs.get("start_new_transaction", True) is False:
                ended = True
            return committed

    consumer.commit = commit_whole_batches  # type: ignore[method-assign]

    @app.on_partitions_assigned.connect
    async def transactions_began(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        nonlocal ended
        ended = False


def _acknowledge_each_offset_once(app: faust.App, consumer: ConsumerT) -> None:
    """Ignore a second acknowledgement of an offset already acknowledged.

    After restoring the tables Faust seeks the source partitions back to their committed
    offsets, and the events read just before are delivered again. Scoring them again changes
    nothing (their ``(source, id)`` are in the entity table), but Faust would record their
    offsets twice and then commit only one offset per commit. Positions reset whenever
    partitions are revoked, since the next owner must acknowledge everything it reads.
    """
    acknowledge = consumer.ack
    highest: dict[TP, int] = {}

    def acknowledge_once(message: Any) -> bool:
        tp, offset = message.tp, message.offset
        if offset <= highest.get(tp, -1):
            message.acked = True
            consumer._unacked_messages.discard(message)  # type: ignore[attr-defined]
            return False
        highest[tp] = offset
        return bool(acknowledge(message))

    consumer.ack = acknowledge_once  # type: ignore[method-assign]

    @app.on_partitions_revoked.connect
    async def forget_positions(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        for tp in revoked:
            highest.pop(tp, None)


def _recover_up_to_end_offsets(consumer: ConsumerT) -> None:
    """Make table recovery read each changelog up to its end (its last stable offset).

    In exactly-once mode Faust 0.15 asks aiokafka for the last stable offset *seen in a fetch*,
    which is unknown for a changelog partition this worker has never fetched: when a worker
    takes over a partition from another one, recovery then believes the changelog is empty and
    the counters restart from zero. ``end_offsets`` asks the broker, and a ``read_committed``
    consumer gets the last stable offset from it.
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
    batch_size: int = 1000,
    batch_seconds: float = 0.05,
    commit_seconds: float = 0.5,
    session_timeout: float = 10.0,
) -> ScoringApp:
    """A scoring app; ``app.main()``/``faust.Worker(app)`` runs it (see ``main.run``)."""
    app = ScoringApp(
        settings.scoring_app_id,
        broker=broker_urls(settings.kafka_bootstrap),
        store="memory://",
        processing_guarantee="exactly_once",
        topic_partitions=settings.topic_partitions,
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
    app.batch_lock = asyncio.Lock()
    metrics = ScoringMetrics()
    dead_letters = DeadLetters(settings.kafka_bootstrap, prefix)
    scorer = Scorer(
        app,
        entities=entities,
        counters=counters,
        group_topic=source_names[0],
        indicator_ids=load_criteria(settings.criteria_file).indicator_ids(),
        metrics=metrics,
        dead_letters=dead_letters,
        lock=app.batch_lock,
    )

    @app.on_partitions_revoked.connect
    async def forget_uncommitted_state(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        # After every rebalance Faust restores each assigned partition of an in-memory table
        # from its changelog (committed records only), kept partitions included. State that a
        # still-open transaction wrote must not survive beside it: an entity created there
        # would look like a resend when its event is scored again.
        for table in (entities, counters):
            store = table.data
            store.data.clear()  # type: ignore[attr-defined]
            getattr(store, "_key_partition", {}).clear()
        # …and the restore must then read every changelog from its start: Faust resumes the
        # partitions it keeps from where their last restore stopped (right for a store that
        # kept its data, not for one emptied here), so state older than that would be lost.
        app.tables.recovery.active_offsets.clear()
        scorer.last_offsets.clear()

    @app.agent(sources, name="score_entities")
    async def score_entities(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(batch_size, within=batch_seconds):
            await scorer.score_batch(events, stream.ack)

    @app.timer(commit_seconds, name="commit_scored_batches")
    async def commit_scored_batches() -> None:
        await scorer.commit()

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
        return web.json({"ready": ready}, status=200 if ready else 503)

    @app.on_before_shutdown.connect
    async def close_dead_letters(app: faust.App, **kwargs: Any) -> None:
        dead_letters.close()

    app.scorer = scorer
    return app


def _ready(app: faust.App) -> bool:
    """Partitions assigned and tables restored: counters published from here on are current."""
    try:
        recovered = app.tables.recovery.completed.is_set()
    except AttributeError:
        return False
    return bool(app.consumer.assignment()) and recovered and not app.rebalancing


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
