"""OrganId → unit_id, read from the unit registry topic (``unit.upserted``'s ``organ_ids``).

A background thread reads the registry topic from the beginning, without a consumer group
(every ingest replica needs the whole map), keeping for each unit its latest version by
``(time, seq)``. When edXML names an OrganId not yet known, :meth:`OrganRegistry.resolve`
asks the thread to catch up with the topic's end and waits a bounded time, so a unit posted
just before its first document is found.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from services.ingest import metrics
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.topics import Topic, physical

log = logging.getLogger(__name__)


class OrganMap:
    """Pure state: each unit's latest version decides which OrganIds it owns.

    A closed unit keeps its OrganIds (its closing version may leave them out): sources lag
    behind reforms, and a document sent under a closed unit's code still resolves to that
    unit, whose data then counts for its successor by time (SPEC §7.2). When several units
    claim one OrganId, an active one wins, then the lowest unit_id — never the arrival order.
    """

    def __init__(self) -> None:
        self._versions: dict[str, tuple[datetime, int, tuple[str, ...], bool]] = {}
        self._claims: dict[str, set[str]] = {}
        self.organ_units: dict[str, str] = {}

    def apply(self, event: CanonicalEvent) -> None:
        if event.type is not EventType.UNIT_UPSERTED:
            return
        unit_id = str(event.data["unit_id"])
        organs = tuple(str(o) for o in event.data.get("organ_ids") or ())
        active = bool(event.data.get("active", True))
        previous = self._versions.get(unit_id)
        if previous is not None and (previous[0], previous[1]) >= (event.time, event.seq):
            return  # an older version arriving late changes nothing
        if not organs and not active and previous is not None:
            organs = previous[2]  # closed: its codes still resolve to it
        self._versions[unit_id] = (event.time, event.seq, organs, active)
        touched = set(organs) | set(previous[2] if previous else ())
        for organ in previous[2] if previous else ():
            self._claims.get(organ, set()).discard(unit_id)
        for organ in organs:
            self._claims.setdefault(organ, set()).add(unit_id)
        for organ in touched:
            self._decide(organ)

    def _decide(self, organ: str) -> None:
        claims = self._claims.get(organ)
        if not claims:
            self.organ_units.pop(organ, None)
            return
        self.organ_units[organ] = min(claims, key=lambda u: (not self._versions[u][3], u))


class OrganRegistry:
    def __init__(self, bootstrap: str, prefix: str, topic: Topic = Topic.EVENTS_REGISTRY) -> None:
        self._bootstrap = bootstrap
        self._topic = physical(topic, prefix)
        self._map = OrganMap()
        self._stop = threading.Event()
        # Catch-up requests: a waiter takes ticket n; it is served once the thread has seen
        # the topic's end offsets as read *after* ticket n was taken.
        self._synced = threading.Condition()
        self._requested = 0
        self._served = 0
        self._thread = threading.Thread(target=self._run, name="organ-registry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def organ_units(self) -> Mapping[str, str]:
        return self._map.organ_units

    async def resolve(self, organs: Iterable[str], timeout: float) -> Mapping[str, str]:
        """The current map, after catching up with the topic if an OrganId is missing."""
        if all(o in self._map.organ_units for o in organs) or timeout <= 0:
            return self._map.organ_units
        await asyncio.to_thread(self.wait_caught_up, timeout)
        return self._map.organ_units

    def wait_caught_up(self, timeout: float) -> bool:
        with self._synced:
            self._requested += 1
            ticket = self._requested
            return self._synced.wait_for(lambda: self._served >= ticket, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except (KafkaError, OSError) as exc:
                log.warning("registry consumer failed, retrying: %s", exc)
                self._stop.wait(1.0)

    def _reader(self) -> KafkaConsumer:
        """A consumer without a group, from the beginning: every replica reads everything."""
        return KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metrics_enabled=False,
        )

    def _consume(self) -> None:
        consumer = self._reader()
        try:
            partitions = self._partitions(consumer)
            if not partitions:  # stopped before the topic existed
                return
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=100).values():
                    for record in records:
                        self._apply(record.value)
                self._report()
                if self._requested > self._served:
                    self._check_caught_up(consumer, partitions)
        finally:
            consumer.close()

    def _partitions(self, consumer: KafkaConsumer) -> list[TopicPartition]:
        while not self._stop.is_set():
            numbers = consumer.partitions_for_topic(self._topic)
            if numbers:
                return [TopicPartition(self._topic, n) for n in sorted(numbers)]
            self._stop.wait(0.5)
        return []

    def _check_caught_up(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        with self._synced:
            ticket = self._requested
        ends = consumer.end_offsets(partitions)
        if all(consumer.position(p) >= ends[p] for p in partitions):
            with self._synced:
                self._served = max(self._served, ticket)
                self._synced.notify_all()

    def _report(self) -> None:
        metrics.ORGAN_IDS_KNOWN.set(len(self._map.organ_units))

    def _apply(self, raw: bytes) -> None:
        try:
            self._map.apply(CanonicalEvent.from_bytes(raw))
        except (ValueError, KeyError) as exc:
            log.warning("skipping an unreadable registry record: %s", exc)
