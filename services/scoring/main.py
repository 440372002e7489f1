"""``thidua scoring``: run one Faust scoring worker until SIGTERM/SIGINT.

Faust's worker installs the signal handlers: on SIGTERM it stops consuming, lets the batch in
hand finish and leaves the consumer group, so the partitions move to the other workers at once
(they score again from the last committed positions, which changes nothing: ``agents``).
"""

from __future__ import annotations

import logging

import faust

from services.scoring.app import create_app
from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical
from thidua.heap import collect_rarely
from thidua.kafka_admin import cluster_durability, ensure_topics
from thidua.settings import ScoringSettings

log = logging.getLogger(__name__)


class PartitionsMismatch(RuntimeError):
    """The co-partitioned topics do not have the same partition count."""


def check_partitions(settings: ScoringSettings) -> None:
    """Every source topic and ``kpi-counters`` must have ``topic_partitions`` partitions: the
    worker relies on partition *p* of each holding the same entity keys."""
    from kafka import KafkaConsumer

    names = [physical(t, settings.topic_prefix) for t in (*SOURCE_TOPICS, Topic.KPI_COUNTERS)]
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","))
    try:
        counts = {name: len(consumer.partitions_for_topic(name) or ()) for name in names}
    finally:
        consumer.close()
    wrong = {name: n for name, n in counts.items() if n != settings.topic_partitions}
    if wrong:
        raise PartitionsMismatch(
            f"expected {settings.topic_partitions} partitions "
            f"(THIDUA_TOPIC_PARTITIONS), found {wrong}"
        )


def changelog_topic(settings: ScoringSettings) -> str:
    """Faust's changelog of ``entity_to_versions`` (``kpi-counters`` is the other table's)."""
    return f"{settings.scoring_app_id}-entity_to_versions-changelog"


def run(settings: ScoringSettings | None = None) -> None:
    """Create the topics if missing, check their partitions, then run a worker (blocks)."""
    settings = settings or ScoringSettings()
    ensure_topics(
        settings.kafka_bootstrap,
        settings.topic_prefix,
        settings.topic_partitions,
        topics=(*SOURCE_TOPICS, Topic.KPI_COUNTERS, Topic.DEAD_LETTER),
        extra={changelog_topic(settings): {"cleanup.policy": "compact"}},
    )
    check_partitions(settings)
    settings.scoring_data_dir.mkdir(parents=True, exist_ok=True)
    collect_rarely()
    durability = cluster_durability(settings.kafka_bootstrap)
    app = create_app(settings, replication_factor=durability.replication_factor)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
