"""Kafka around the pure engine: ``kpi-results`` in, ``alerts`` out, deliveries beside.

The compacted ``kpi-results`` topic is read from the beginning at every start (no consumer
group offsets): it holds the latest scorecard of every (period, unit), which is the state the
rules need. Firing alerts are restored from the ``alerts`` topic, so a restart neither
forgets nor re-announces them. Rules are evaluated only once the replay has caught up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from services.notify import metrics
from services.notify.alerts import Alert
from services.notify.engine import Engine
from thidua.contracts.periods import LOCAL_TZ
from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical

log = logging.getLogger(__name__)
Deliver = Callable[[list[Alert]], None]


def _now() -> datetime:
    return datetime.now(LOCAL_TZ)


def _partitions(consumer: KafkaConsumer, topic: str, timeout: float = 30.0) -> list[TopicPartition]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        time.sleep(0.2)
    raise RuntimeError(f"topic {topic} has no partitions")


def latest_timestamps(consumer: KafkaConsumer, topics: list[str]) -> dict[str, datetime]:
    """The newest record time (ingest's acceptance) of each topic: its partitions' last
    records, read without a consumer group."""
    parts = [
        TopicPartition(topic, p)
        for topic in topics
        for p in consumer.partitions_for_topic(topic) or ()
    ]
    if not parts:
        return {}
    ends = consumer.end_offsets(parts)
    live = [p for p in parts if ends[p] > 0]
    consumer.assign(live)
    for part in live:
        consumer.seek(part, ends[part] - 1)
    newest: dict[str, datetime] = {}
    waiting, deadline = set(live), time.monotonic() + 5.0
    while waiting and time.monotonic() < deadline:
        for part, records in consumer.poll(timeout_ms=300).items():
            waiting.discard(part)
            for record in records:
                moment = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                if part.topic not in newest or moment > newest[part.topic]:
                    newest[part.topic] = moment
    return newest


class NotifyWorker:
    """Consumes, evaluates every ``tick`` seconds (and after each batch), publishes."""

    def __init__(
        self,
        engine: Engine,
        bootstrap: str,
        prefix: str,
        deliver: Deliver,
        tick: float = 30.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.results_topic = physical(Topic.KPI_RESULTS, prefix)
        self.alerts_topic = physical(Topic.ALERTS, prefix)
        self.deliver = deliver
        self.tick = tick
        self.clock = clock
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    # ----- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notify-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.run_forever()
        except BaseException as exc:  # surfaced by /readyz
            self.error = exc
            log.exception("notify worker stopped")
            raise

    # ----- the loop ----------------------------------------------------------------------
    def run_forever(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=20)
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        watch = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        try:
            self._restore(consumer)
            parts = _partitions(consumer, self.results_topic)
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends = consumer.end_offsets(parts)
            last_eval = 0.0
            while not self._stop.is_set():
                batch = consumer.poll(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for record in records:
                        self._consume(record.key, record.value)
                if not self.ready.is_set() and all(consumer.position(p) >= ends[p] for p in parts):
                    log.info(
                        "kpi-results replayed: %d scorecards", len(self.engine.observations.latest)
                    )
                    self.ready.set()
                if self.ready.is_set() and (batch or time.monotonic() - last_eval >= self.tick):
                    if time.monotonic() - last_eval >= self.tick:
                        self._watch_sources(watch)
                    last_eval = time.monotonic()
                    self._evaluate(producer)
        finally:
            watch.close()
            consumer.close()
            producer.close(timeout=5)

    def _watch_sources(self, watch: KafkaConsumer) -> None:
        topics = [physical(t, self.prefix) for t in SOURCE_TOPICS]
        try:
            newest = latest_timestamps(watch, topics)
        except KafkaError as exc:
            log.warning("cannot read the source topics' last records: %s", exc)
            return
        for topic, moment in newest.items():
            self.engine.observations.saw_source(topic.removeprefix(self.prefix), moment)

    def _consume(self, key: bytes | None, value: bytes | None) -> None:
        try:
            if value is None:  # tombstone: the (period, unit) result is gone
                period, _, unit_id = (key or b"").decode().partition("|")
                self.engine.observations.latest.pop((period, unit_id), None)
            else:
                self.engine.add(orjson.loads(value))
            metrics.RESULTS_CONSUMED.labels("ok").inc()
        except (ValueError, KeyError, TypeError) as exc:
            metrics.RESULTS_CONSUMED.labels("invalid").inc()
            log.warning("skipping an unreadable kpi-results message %r: %s", key, exc)

    def _evaluate(self, producer: KafkaProducer) -> None:
        alerts = self.engine.evaluate(self.clock())
        metrics.EVALUATIONS.inc()
        for alert in alerts:
            producer.send(
                self.alerts_topic,
                key=alert.fingerprint.encode(),
                value=orjson.dumps(alert.to_json()),
            )
            metrics.ALERTS_PUBLISHED.labels(alert.state).inc()
        if alerts:
            producer.flush(timeout=30)
            self.deliver(alerts)
        self._gauges()

    def _gauges(self) -> None:
        for rule in self.engine.rules.rules:
            metrics.ALERTS_FIRING.labels(rule.name).set(
                sum(1 for k in self.engine.firing() if k[0] == rule.name)
            )
            metrics.ALERTS_PENDING.labels(rule.name).set(
                sum(1 for k in self.engine.pending() if k[0] == rule.name)
            )

    def _restore(self, consumer: KafkaConsumer) -> None:
        """Firing alerts from the alerts topic: the latest message per fingerprint."""
        try:
            parts = _partitions(consumer, self.alerts_topic, timeout=5.0)
        except (RuntimeError, KafkaError):
            return
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        latest: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 120
        while any(consumer.position(p) < ends[p] for p in parts) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    try:
                        body = orjson.loads(record.value)
                        latest[str(body["fingerprint"])] = body
                    except (ValueError, KeyError, TypeError):
                        continue
        restored = self.engine.restore(latest.values())
        log.info("restored %d firing alert(s) from %s", restored, self.alerts_topic)
