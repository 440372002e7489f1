"""The dead-letter topic: events accepted by ingest that a later stage could not process.

SPEC §4: nothing accepted is ever lost. A stage that cannot process a record (scoring, the
writer) calls :func:`send_to_dlq` with the record's original bytes and key and the reason; once
the cause is fixed, ``thidua replay-dlq`` (:func:`replay`) re-produces every dead letter to its
original topic, unchanged (same key, value, ``seq``), so it is processed as if it had just
arrived: (source, id) dedupe downstream makes a replay of an already-counted event harmless.

A dead letter is the original value, keyed as before, with headers ``original_topic``,
``reason``, ``stage``, ``failed_at`` (RFC 3339 UTC). Replay progress is the ``{prefix}dlq-replay``
consumer group's committed offset; a replay stops at the end offsets seen when it began, so an
event that fails again is dead-lettered anew and waits for the next replay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.producer.future import FutureRecordMetadata
from kafka.structs import OffsetAndMetadata

from thidua.contracts.events import CanonicalEvent
from thidua.contracts.topics import Topic, physical, topic_for
from thidua.kafka_admin import ensure_topics

log = logging.getLogger(__name__)

ORIGINAL_TOPIC = "original_topic"
REASON = "reason"
STAGE = "stage"
FAILED_AT = "failed_at"
REPLAYED_FROM = "replayed_from"
_MAX_REASON = 4000


@dataclass(frozen=True)
class DeadLetter:
    """A record ready for any producer (kafka-python, aiokafka): topic, key, value, headers."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def located(reason: str, topic: str, partition: int, offset: int) -> str:
    """A later stage's reason with the record's place: ``reason (at topic[partition]@offset)``."""
    return f"{reason} (at {topic}[{partition}]@{offset})"


def original_topic_of(raw_value: bytes, prefix: str) -> str:
    """The source topic a canonical event belongs on ('' when the bytes are not one)."""
    try:
        return physical(topic_for(CanonicalEvent.from_bytes(raw_value).type), prefix)
    except (ValueError, KeyError):
        return ""


def dead_letter(
    prefix: str,
    raw_value: bytes,
    key: bytes | str | None,
    reason: str,
    stage: str,
    original_topic: str | None = None,
) -> DeadLetter:
    topic = original_topic if original_topic is not None else original_topic_of(raw_value, prefix)
    return DeadLetter(
        topic=physical(Topic.DEAD_LETTER, prefix),
        key=key.encode() if isinstance(key, str) else key,
        value=raw_value,
        headers=[
            (ORIGINAL_TOPIC, topic.encode()),
            (REASON, reason[:_MAX_REASON].encode()),
            (STAGE, stage.encode()),
            (FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ],
    )


def send_to_dlq(
    producer: KafkaProducer,
    prefix: str,
    raw_value: bytes,
    key: bytes | str | None,
    reason: str,
    stage: str,
    original_topic: str | None = None,
) -> FutureRecordMetadata:
    """Dead-letter one record with a kafka-python producer; wait on the future (or flush)
    before committing the offset of the record that failed."""
    letter = dead_letter(prefix, raw_value, key, reason, stage, original_topic)
    log.warning(
        "dead-lettering a record from %s at stage %s: %s",
        letter.headers[0][1].decode(),
        stage,
        reason,
    )
    return producer.send(letter.topic, value=letter.value, key=letter.key, headers=letter.headers)


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0  # no original_topic: kept in the dead-letter topic, not replayed
    by_topic: dict[str, int] = field(default_factory=dict)


def replay(
    bootstrap: str,
    prefix: str,
    group: str | None = None,
    timeout_s: float = 60.0,
    progress: Callable[[str], None] = log.info,
) -> ReplayReport:
    """Re-produce every dead letter not yet replayed to its original topic, then commit."""
    ensure_topics(bootstrap, prefix, 1, topics=(Topic.DEAD_LETTER,))
    topic = physical(Topic.DEAD_LETTER, prefix)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group or f"{prefix}dlq-replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, compression_type="lz4"
    )
    report = ReplayReport()
    try:
        numbers = sorted(consumer.partitions_for_topic(topic) or ())
        partitions = [TopicPartition(topic, number) for number in numbers]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(p) < ends[p] for p in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"replay did not reach the end of {topic} in {timeout_s:.0f}s")
            batches = consumer.poll(timeout_ms=500)
            offsets = {}
            for partition, records in batches.items():
                for record in records:
                    if record.offset >= ends[partition]:
                        continue  # dead-lettered after this replay began: the next one's job
                    _replay_one(producer, record, report)
                    offsets[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
            if offsets:
                producer.flush()  # every replayed record acknowledged before we commit past it
                consumer.commit(offsets)
                progress(f"replayed {report.replayed}, skipped {report.skipped}")
    finally:
        producer.close()
        consumer.close()
    return report


def _replay_one(producer: KafkaProducer, record: ConsumerRecord, report: ReplayReport) -> None:
    headers = dict(record.headers or [])
    original = headers.get(ORIGINAL_TOPIC, b"").decode()
    if not original:
        report.skipped += 1
        log.error("dead letter at offset %s has no original topic; left in place", record.offset)
        return
    where = f"{record.topic}:{record.partition}:{record.offset}"
    producer.send(
        original, key=record.key, value=record.value, headers=[(REPLAYED_FROM, where.encode())]
    )
    report.replayed += 1
    report.by_topic[original] = report.by_topic.get(original, 0) + 1


def replay_cli() -> None:
    """``thidua replay-dlq``: settings from THIDUA_* environment variables."""
    from thidua.settings import IngestSettings

    settings = IngestSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    print(
        f"Replaying {physical(Topic.DEAD_LETTER, settings.topic_prefix)} on "
        f"{settings.kafka_bootstrap} …",
        flush=True,
    )
    report = replay(
        settings.kafka_bootstrap,
        settings.topic_prefix,
        progress=lambda line: print(line, flush=True),
    )
    for topic, count in sorted(report.by_topic.items()):
        print(f"  {topic}: {count}")
    print(f"done: {report.replayed} replayed, {report.skipped} skipped (no original topic)")
