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
from typing import Any, cast

import faust
from faust.tables.base import Collection
from faust.types import TP, ConsumerT
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.scoring.agents import DeadLetters, Scorer
from services.scoring.faust_internals import (
    ConsumerHookApp,
    client_thread,
    deliver_every_offset,
    deliver_source_batches,
    recover_up_to_end_offsets,
    recovery_completed,
    restore_changelogs_whole,
    seek_after_restore,
    seek_in_thread,
    start_offsets,
)
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


class ScoringApp(ConsumerHookApp):
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

    def on_consumer_created(self, consumer: ConsumerT) -> None:
        recover_up_to_end_offsets(consumer)
        # Faust drops a message whose offset is below the last one it read (and around a
        # seek that loses events, see ``positions``): deliver everything, the scorer sorts.
        deliver_every_offset(consumer)
        seek_after_restore(consumer, lambda: self.scorer.positions.starts())
        deliver_source_batches(
            self,
            consumer,
            source_names=self.source_names,
            batches=lambda: self.source_batches,
            on_put_back=self._count_put_back,
        )

    def _count_put_back(self, tp: TP, records: int) -> None:
        kind = "source" if tp.topic in self.source_names else "changelog"
        self.scorer.metrics.put_back.labels(kind).inc(records)


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
        start_offsets=lambda partitions: start_offsets(client_thread(app.consumer))(partitions),
        seek=lambda tp, offset: seek_in_thread(client_thread(app.consumer), {tp: offset}),
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # (Faust's own signature)
    async def forget_tables(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        # After every rebalance Faust restores each assigned partition of an in-memory table
        # from its changelog, kept partitions included; it resumes those from where their last
        # restore stopped (right for a store that kept its data). The scorer empties its stores
        # here, so the restore must read every changelog from its start.
        await scorer.forget()
        restore_changelogs_whole(app)

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
        recovered = recovery_completed(app)
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
