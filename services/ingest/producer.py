"""Canonical events → Kafka, answered only after the broker acknowledged every one.

kafka-python with ``acks=all`` and idempotence: a retried batch is never duplicated inside a
partition, and a request is answered 202 only when all its records are durable. Records are
keyed by the SPEC §3 entity key, so all versions of one entity stay ordered in one partition.

``seq`` is stamped here, in array order and across requests in the order records are handed to
the producer: ``max(last + 1, time.time_ns())``, monotonic even if the clock steps back.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from services.ingest import metrics
from services.ingest.cloudevents import PendingEvent
from services.ingest.partitioner import EntityPartitioner
from thidua.contracts.events import EventType
from thidua.contracts.topics import Topic, physical, topic_for

log = logging.getLogger(__name__)

PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "compression_type": "lz4",
    # A request hands all its records over at once, so they batch without lingering; a long
    # linger only delays the ack the client waits for (this one measured best in bench/ingest).
    "linger_ms": 1,
    "batch_size": 256 * 1024,
    "max_request_size": 8 * 1024 * 1024,
    "max_in_flight_requests_per_connection": 5,
    # Only for the metadata fetched at start: then EventProducer sets it to 0 (never block).
    "max_block_ms": 2_000,
    "delivery_timeout_ms": 30_000,
    "request_timeout_ms": 10_000,
    "metrics_enabled": False,
}


class Overloaded(RuntimeError):
    """Too many records await acknowledgement: shed load (429) before producing anything."""


class DeliveryFailed(RuntimeError):
    """The broker did not acknowledge every record of a request (503; the client resends)."""


class _Acks:
    """Counts one request's acknowledgements; callbacks run on kafka-python's sender thread.

    ``next()`` on an ``itertools.count`` is atomic under the GIL: no lock per record.
    """

    __slots__ = ("_count", "_done", "_loop", "future", "errors")

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop) -> None:
        self._count = count
        self._done = itertools.count(1)
        self._loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.errors: dict[str, BaseException] = {}

    def on_result(self, topic: str, result: Any) -> None:
        if isinstance(result, BaseException):
            self.on_failure(topic, result)
        else:
            self.on_success(result)

    def on_success(self, _metadata: Any) -> None:
        if next(self._done) == self._count:
            self._loop.call_soon_threadsafe(self._finish)

    def on_failure(self, topic: str, error: BaseException) -> None:
        metrics.PRODUCER_ERRORS.labels(topic=topic).inc()
        self.errors.setdefault(topic, error)
        if next(self._done) == self._count:
            self._loop.call_soon_threadsafe(self._finish)

    def fail_unsent(self, topic: str, count: int, error: BaseException) -> None:
        for _ in range(count):
            self.on_result(topic, error)

    def _finish(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class EventProducer:
    """One kafka-python producer shared by every request of the process."""

    def __init__(self, bootstrap: str, prefix: str, max_pending: int, **overrides: Any) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            **{**PRODUCER_CONFIG, "partitioner": EntityPartitioner(), **overrides},
        )
        self._bootstrap = bootstrap
        self._topics = {t: physical(topic_for(t), prefix) for t in EventType}
        self._max_pending = max_pending
        self._pending = 0  # touched only on the event loop thread
        self._last_seq = 0
        self._admin: KafkaAdminClient | None = None
        warm = {*self._topics.values(), physical(Topic.INGEST_PROCEDURES, prefix)}
        for topic in warm:
            self._producer.partitions_for(topic)  # warm metadata so send() never blocks
        # From now on send() runs on the event loop: it must never wait (for metadata it lost,
        # or anything else). It raises at once instead, and the request is answered 429.
        self._producer.config["max_block_ms"] = 0

    @property
    def pending(self) -> int:
        return self._pending

    def next_seq(self) -> int:
        self._last_seq = max(self._last_seq + 1, time.time_ns())
        return self._last_seq

    async def produce(self, events: Sequence[PendingEvent], topic: str | None = None) -> int:
        """Stamp, send and wait for every ack; raises Overloaded or DeliveryFailed.
        ``topic``: send every event there instead of its type's topic."""
        if not events:
            return 0
        if self._pending + len(events) > self._max_pending:
            raise Overloaded(f"{self._pending} records await the broker")
        acks = _Acks(len(events), asyncio.get_running_loop())
        on_success = acks.on_success
        on_failure: dict[str, Any] = {}
        send, topics, next_seq = self._producer.send, self._topics, self.next_seq
        blocked: KafkaTimeoutError | None = None
        if topic is not None:
            topics = {event.type: topic for event in events}
        self._pending += len(events)
        metrics.PRODUCER_QUEUE.set(self._pending)
        try:
            # The hot loop of ingest: every line here runs once per event.
            for position, event in enumerate(events):
                target = topics[event.type]
                failed = on_failure.get(target)
                if failed is None:
                    failed = on_failure[target] = functools.partial(acks.on_failure, target)
                try:
                    future = send(target, value=canonical_bytes(event, next_seq()), key=event.key)
                except KafkaTimeoutError as exc:  # it would have blocked the event loop
                    blocked = exc
                    acks.fail_unsent(target, len(events) - position, exc)
                    break
                except (KafkaError, ValueError, TypeError) as exc:
                    log.warning("producer refused a record for %s: %s", target, exc)
                    acks.fail_unsent(target, len(events) - position, exc)
                    break
                future.add_callback(on_success)
                future.add_errback(failed)
            await acks.future
        finally:
            self._pending -= len(events)
            metrics.PRODUCER_QUEUE.set(self._pending)
        if blocked is not None:
            raise Overloaded(f"the producer cannot take records without waiting: {blocked}")
        if acks.errors:
            topic, error = next(iter(acks.errors.items()))
            raise DeliveryFailed(f"Kafka did not acknowledge records for {topic}: {error}")
        return len(events)

    def ping(self) -> bool:
        """Does the broker answer right now? (for /readyz; blocking, run it in a thread)."""
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(
                    bootstrap_servers=self._bootstrap, request_timeout_ms=3_000
                )
            self._admin.list_topics()
            return True
        except (KafkaError, OSError) as exc:
            log.warning("Kafka does not answer: %s", exc)
            if self._admin is not None:
                self._admin.close()
                self._admin = None
            return False

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout=timeout)
        self._producer.close(timeout=timeout)
        if self._admin is not None:
            self._admin.close()


def canonical_bytes(event: PendingEvent, seq: int) -> bytes:
    """``CanonicalEvent(…, seq=seq).to_bytes()`` without building the model (the hot path;
    a test checks that both read back equal)."""
    return orjson.dumps(
        {
            "source": event.source,
            "id": event.id,
            "type": event.type.value,
            "time": event.time,
            "seq": seq,
            "data": event.data,
        },
        option=orjson.OPT_UTC_Z,
    )
