"""The single ClickHouse writer: Kafka → decode → batch → insert → commit → materialize → notify.

One per ClickHouse store: inside the api process on chDB (embedded mode, sharing its client),
or alone beside a ClickHouse server (``thidua writer``). It commits offsets only after the
rows are stored, so a crash replays a batch and never loses one; replays collapse under the
tables' ReplacingMergeTree keys.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from clickhouse_connect.driver.client import Client
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from services.writer import metrics
from services.writer.batch import Batch, DeadLetter
from services.writer.decode import Router
from services.writer.dlq import send_dead_letters
from services.writer.refresh import Refresher, RefreshListener, ResultsListener
from services.writer.results import results_publisher
from services.writer.rows import Undecodable
from services.writer.sink import Stopped, write_rows
from thidua.contracts.measures import FLOW_MEASURES
from thidua.contracts.plans import Plans
from thidua.settings import WriterSettings
from thidua.store.migrations import migrate

log = logging.getLogger(__name__)

_MAX_POLL_SECONDS = 0.5  # upper bound on how long stop() waits for the loop to notice
_COMMIT_TIMEOUT_MS = 5_000  # a commit that cannot finish (group rebalancing) is retried later
# kafka-python 3 occasionally never completes a join right after a metadata change (seen at
# start: joined as leader, assignment never applied). Past this, the loop starts over.
_REBALANCE_STALL_SECONDS = 20.0


class RebalanceStalled(RuntimeError):
    """No partitions were assigned for too long after a join began."""


class _FlushAfterRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """kafka-python 3 runs this on its IO thread while the loop waits in ``poll()``: no IO
    here (its blocking calls, commit among them, are refused there, and ClickHouse is the
    loop's). A revocation only asks the loop to flush its batch as soon as ``poll()`` returns;
    an assignment keeps the uncommitted offsets of the partitions that stayed (their positions
    stay too, so nothing would re-read those records)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._writer._revoked = True
        if self._writer._joining_since is None:
            self._writer._joining_since = time.monotonic()

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pending = self._writer._pending_offsets
        for tp in [tp for tp in pending if tp not in assigned]:
            del pending[tp]  # its new owner replays from the last commit (rows are idempotent)
        self._writer._joining_since = None
        log.info("writer assigned %d partition(s)", len(assigned))


class Writer:
    """Run with ``start()``/``stop()`` (background thread) or ``run_forever()`` (this thread).

    ``on_refresh`` callbacks receive the ids of the periods re-materialized after a flush.
    """

    def __init__(
        self,
        settings: WriterSettings,
        client: Client,
        plans: Plans,
        on_refresh: Sequence[RefreshListener] = (),
        on_results: Sequence[ResultsListener] = (),
    ) -> None:
        self.settings = settings
        self.client = client
        self.plans = plans
        self.refresher = Refresher(
            client,
            plans,
            on_refresh,
            publish=results_publisher(self._output_producer, settings.topic_prefix),
            on_results=on_results,
        )
        self.router = Router(settings.topic_prefix, FLOW_MEASURES)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._batch = self._new_batch()
        # Offsets of stored rows not yet committed (their partitions were being rebalanced).
        self._pending_offsets: dict[TopicPartition, int] = {}
        self._revoked = False
        self._joining_since: float | None = None  # a join began, no assignment since
        self.last_error: str | None = None
        self._last_refresh_attempt = 0.0  # when the last one ended
        self._refresh_failed = False
        self._last_refresh_seconds = 0.0
        self._caught_up = False  # no record left to read at the last poll

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Migrate the schema, then consume in a daemon thread."""
        migrate(self.client, cluster=self.settings.clickhouse_cluster)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop_until_stopped, name="ch-writer", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Flush what is batched, commit, close. Safe to call twice."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_forever(self) -> None:
        migrate(self.client, cluster=self.settings.clickhouse_cluster)
        self._loop_until_stopped()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def healthy(self) -> bool:
        """For readiness probes: the thread runs and its last flush or refresh succeeded."""
        return self.alive and self.last_error is None

    # --- the loop ------------------------------------------------------------------------

    def _loop_until_stopped(self) -> None:
        try:
            self.refresher.refresh_all()
        except Exception:  # ClickHouse away: the first flush will materialize what it touches
            log.exception("materializing the standard periods at start failed")
        while not self._stopping.is_set():
            try:
                self._consume()
                self.last_error = None
            except Stopped:
                log.warning("stopped with an unwritten batch; Kafka will redeliver it")
                break
            except Exception as exc:  # broker away, ClickHouse away: start over from commits
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("writer loop failed; restarting from the committed offsets")
                self._batch = self._new_batch()
                self._pending_offsets.clear()  # replayed from the commits, idempotently
                self._close()
                self._stopping.wait(2.0)
        self._close()

    def _consume(self) -> None:
        self._open()
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping.is_set():
            due_in = self._refresh_due_in()
            timeout = min(
                self._batch.seconds_left(),
                _MAX_POLL_SECONDS,
                _MAX_POLL_SECONDS if due_in is None else due_in,
            )
            records = consumer.poll(
                timeout_ms=max(10, int(timeout * 1000)),
                max_records=max(1, self.settings.writer_batch_rows - self._batch.messages),
            )
            for tp, messages in records.items():
                for message in messages:
                    self._add(tp, message.offset, message.key, message.value)
            self._record_lag(consumer)
            joining = self._joining_since
            if joining is not None and time.monotonic() - joining > _REBALANCE_STALL_SECONDS:
                self._joining_since = None
                stalled = f"no assignment {_REBALANCE_STALL_SECONDS:.0f} s after a join"
                raise RebalanceStalled(stalled)
            revoked, self._revoked = self._revoked, False
            if self._batch.ready or (revoked and not self._batch.empty):
                self._flush()
            elif self._pending_offsets:
                self._commit({})
            self._maybe_refresh()
        self._flush_quietly()
        if self.refresher.pending:  # one last try, so a clean stop leaves nothing stale
            self._refresh()

    def _add(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        try:
            decoded = self.router.decode(tp.topic, offset, value, key)
        except Undecodable as exc:
            letter = DeadLetter(tp.topic, tp.partition, offset, key, value, str(exc))
            self._batch.add_dead_letter(letter)
            return
        self._batch.add(tp, offset, decoded)

    def _flush(self) -> None:
        """Write → dead-letter → commit → materialize → notify; then a fresh batch."""
        batch = self._batch
        if batch.empty:
            return
        write_rows(self.client, batch.rows, self._stopping, on_failure=self._failed)
        self._batch = self._new_batch()
        if batch.dead_letters:
            send_dead_letters(
                self._output_producer(), self.settings.topic_prefix, batch.dead_letters
            )
        self._commit(batch.next_offsets)
        metrics.BATCH_SIZE.observe(batch.messages)
        self.last_error = None
        self.refresher.defer(batch.stock_days, batch.flow_days)
        self._maybe_refresh()

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` and the pending ones, for the partitions this writer owns now;
        the others wait (a rebalance is under way) or go (another writer owns them)."""
        assert self._consumer is not None
        pending = self._pending_offsets
        for tp, offset in offsets.items():
            pending[tp] = max(offset, pending.get(tp, offset))
        owned = self._consumer.assignment()
        ready = {tp: OffsetAndMetadata(o, "", -1) for tp, o in pending.items() if tp in owned}
        if not ready:
            return
        try:
            self._consumer.commit(ready, timeout_ms=_COMMIT_TIMEOUT_MS)
        except KafkaError as exc:
            # E.g. the group is rebalancing: retried after the next poll (rows are stored;
            # if another writer gets the partitions, it replays them, idempotently).
            log.warning("offset commit failed (%s); will retry", exc)
            return
        for tp in ready:
            del pending[tp]
        metrics.LAST_FLUSH.set(time.time())

    def _failed(self, reason: str) -> None:
        self.last_error = reason

    def _refresh_due_in(self) -> float | None:
        """Seconds until the pending periods are to be materialized (None: nothing pending).

        Materializing waits twice as long as the last one took, so it never takes more than
        a third of the machine's time from the scoring workers and the inserts (at every
        flush it starved the busy scoring workers). Behind, it also waits
        ``writer_refresh_seconds``: a backlog is stored at the speed of inserts. After a
        failure, 5 s."""
        if not self.refresher.pending:
            return None
        if self._refresh_failed:
            pause = 5.0
        else:
            pause = 2 * self._last_refresh_seconds
            if not self._caught_up:
                pause = max(pause, self.settings.writer_refresh_seconds)
        return max(0.0, self._last_refresh_attempt + pause - time.monotonic())

    def _maybe_refresh(self) -> None:
        if self._refresh_due_in() == 0.0:
            self._refresh()

    def _refresh(self) -> None:
        """Materialize and notify; a failure is logged and retried later, never a stop: the
        KPI tables are derived, and the counters they come from are already stored."""
        started = time.monotonic()
        try:
            self.refresher.refresh()
            self._refresh_failed = False
        except Exception as exc:
            self._refresh_failed = True
            metrics.MATERIALIZE_ERRORS.inc()
            self.last_error = f"materialize: {type(exc).__name__}: {exc}"
            log.exception("materializing after a flush failed; retrying later")
        finally:
            self._last_refresh_attempt = time.monotonic()
            self._last_refresh_seconds = self._last_refresh_attempt - started

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except Stopped:
            log.warning("stopped with an unwritten batch; Kafka will redeliver it")
            self._batch = self._new_batch()

    # --- plumbing ------------------------------------------------------------------------

    def _new_batch(self) -> Batch:
        return Batch(self.settings.writer_batch_rows, self.settings.writer_batch_seconds)

    def _open(self) -> None:
        from thidua.kafka_admin import ensure_topics

        ensure_topics(
            self.settings.kafka_bootstrap,
            self.settings.topic_prefix,
            self.settings.topic_partitions,
        )
        self._consumer = KafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.writer_group,
            client_id=f"{self.settings.writer_group}-writer",
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.writer_batch_rows,
        )
        self._joining_since = time.monotonic()
        for topic in self.router.topics:  # metadata first: an assignor without it assigns nothing
            self._consumer.partitions_for_topic(topic)
        self._consumer.subscribe(self.router.topics, listener=_FlushAfterRevoke(self))

    def _output_producer(self) -> KafkaProducer:
        """One producer for dead letters and kpi-results (kafka-python's is thread-safe)."""
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=5
            )
        return self._producer

    def _record_lag(self, consumer: KafkaConsumer) -> None:
        behind = 0
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = consumer.position(tp, timeout_ms=0)
            except Exception:  # position not fetched yet: no lag to report
                continue
            if position is not None:
                lag = max(0, highwater - position)
                behind += lag
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        self._caught_up = behind == 0

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception:
                log.exception("closing the writer's consumer failed")
            self._consumer = None
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:
                log.exception("closing the dead-letter producer failed")
            self._producer = None
