"""Create the project's topics on a broker, once, for every process that needs them.

Every service calls :func:`ensure_topics` at start: it creates whichever of ``Topic`` is
missing under the prefix and leaves existing ones alone (partition counts are never changed
here: growing a keyed topic would move keys between partitions).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from thidua.contracts.topics import COMPACTED_TOPICS, Topic, physical

log = logging.getLogger(__name__)

# Source topics are the system of record (SPEC §4: nothing accepted is ever lost): never delete.
_RETAIN_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
_COMPACTED = {"cleanup.policy": "compact"}


def topic_configs(topic: Topic) -> dict[str, str]:
    if topic in COMPACTED_TOPICS:
        return dict(_COMPACTED)
    if topic in (Topic.ALERTS,):
        return {}
    return dict(_RETAIN_FOREVER)


def ensure_topics(
    bootstrap: str,
    prefix: str,
    partitions: int,
    topics: Iterable[Topic] = tuple(Topic),
    timeout_ms: int = 30_000,
) -> list[str]:
    """Create the missing ``topics`` (physical names under ``prefix``); returns those created.

    Replication factor is min(3, brokers in the cluster): 1 on a laptop, 3 in production.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        existing = set(admin.list_topics())
        brokers = len(admin.describe_cluster().get("brokers", [])) or 1
        replication = min(3, brokers)
        wanted = {physical(t, prefix): t for t in topics}
        missing = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs=topic_configs(topic),
            )
            for name, topic in wanted.items()
            if name not in existing
        ]
        if not missing:
            return []
        try:
            admin.create_topics(missing, timeout_ms=timeout_ms, raise_errors=False)
        except TopicAlreadyExistsError:
            # Another process created them between our list and create: that is fine.
            pass
        names = [t.name for t in missing]
        admin.wait_for_topics(names, timeout_ms=timeout_ms)
        log.info("created topics %s", ", ".join(names))
        return names
    finally:
        admin.close()
