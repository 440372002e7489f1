"""Raise the partition count: a new topic generation, filled from the raw events.

Kafka can add partitions to a topic, but never move records: keys would change partitions
while their older versions stay behind, and scoring's tables (keyed like the sources) would
split an entity between two workers. So partitions are raised by a *generation*: a new topic
prefix with more partitions, into which every record of the old source topics is copied, in
offset order per partition (so every entity's versions keep their acceptance order), with the
same key, value, headers and timestamp, and partitioned as ingest partitions (murmur2 of the
key). Scoring then rebuilds its state from the new topics under a new app id, and the writer
re-derives ``kpi_counters`` (whose rows are per source partition, so the old ones are cleared).

The copy is idempotent in effect: a record copied twice is a resend of the same (source, id,
seq), which scoring and the batch recompute ignore. The full procedure is in docs/SCALING.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical
from thidua.kafka_admin import ensure_topics

log = logging.getLogger(__name__)

# Copied: the system of record and what an operator may still replay or must not re-announce.
# Not copied: kpi-counters and kpi-results, which the new generation derives again.
COPIED_TOPICS: tuple[Topic, ...] = (*SOURCE_TOPICS, Topic.DEAD_LETTER, Topic.ALERTS)


@dataclass
class Report:
    copied: dict[str, int] = field(default_factory=dict)  # new topic → records copied

    @property
    def total(self) -> int:
        return sum(self.copied.values())


def regenerate(
    bootstrap: str,
    from_prefix: str,
    to_prefix: str,
    partitions: int,
    progress: Callable[[str], None] = log.info,
) -> Report:
    """Create the ``to_prefix`` generation with ``partitions`` partitions and copy every record
    of the old generation's copied topics, up to their end offsets when the copy starts."""
    if from_prefix == to_prefix:
        raise ValueError("the new generation needs its own topic prefix")
    ensure_topics(bootstrap, to_prefix, partitions)
    servers = bootstrap.split(",")
    consumer = KafkaConsumer(
        bootstrap_servers=servers, enable_auto_commit=False, max_poll_records=5000
    )
    producer = KafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        linger_ms=5,
        batch_size=256 * 1024,
        # kafka-python's default: murmur2 of the key, as ingest's EntityPartitioner (a test
        # of ingest checks they agree) and Faust partition.
    )
    report = Report()
    try:
        for topic in COPIED_TOPICS:
            source, target = physical(topic, from_prefix), physical(topic, to_prefix)
            report.copied[target] = _copy(consumer, producer, source, target)
            progress(f"{source} → {target}: {report.copied[target]} records")
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=30)
        consumer.close()
    return report


def _copy(consumer: KafkaConsumer, producer: KafkaProducer, source: str, target: str) -> int:
    found = consumer.partitions_for_topic(source) or set()
    parts = [TopicPartition(source, p) for p in sorted(found)]
    if not parts:
        return 0
    ends = consumer.end_offsets(parts)
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    copied = 0
    # Partition by partition, in offset order: one entity's versions are in one old partition.
    waiting = {tp for tp in parts if ends[tp] > 0}
    deadline = time.monotonic() + 3600
    while waiting and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=1000).items():
            for record in records:
                if record.offset >= ends[tp]:
                    break
                producer.send(
                    target,
                    key=record.key,
                    value=record.value,
                    headers=list(record.headers or []),
                    timestamp_ms=record.timestamp,
                )
                copied += 1
            if consumer.position(tp) >= ends[tp]:
                waiting.discard(tp)
                consumer.pause(tp)
    if waiting:
        raise RuntimeError(f"{source}: could not read to the end of {sorted(map(str, waiting))}")
    consumer.unsubscribe()
    return copied


def reset_counters(clickhouse_dsn: str, cluster: str = "") -> None:
    """Clear ``kpi_counters`` (rows per old source partition): the new generation's writer
    fills it again from the new ``kpi-counters`` topic. Run with the writer stopped."""
    from thidua.store.client import get_client
    from thidua.store.cluster import on_cluster

    client = get_client(clickhouse_dsn)
    try:
        client.command(on_cluster("TRUNCATE TABLE IF EXISTS kpi_counters", cluster))
    finally:
        client.close()
