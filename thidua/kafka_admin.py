"""Create the project's topics on a broker, once, for every process that needs them.

This module is the one place where topics are created (ingest, scoring, the writer, notify,
``replay-dlq`` and ``thidua up`` all call :func:`ensure_topics`; scoring also pre-creates its
Faust changelog here). It creates whichever topic is missing and leaves existing ones alone:
partition counts are never changed here (growing a keyed topic would move keys between
partitions; see docs/SCALING.md for how to raise them with a new topic generation).

Durability follows the cluster's size: replication factor min(3, brokers) and, from three
brokers on, ``min.insync.replicas`` 2 — with producers on ``acks=all`` an acknowledged record
is then on two brokers, and one broker may fail without refusing writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from thidua.contracts.topics import COMPACTED_TOPICS, Topic, physical

log = logging.getLogger(__name__)

# Source topics are the system of record (SPEC §4: nothing accepted is ever lost): never delete.
_RETAIN_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
_COMPACTED = {"cleanup.policy": "compact"}
MAX_REPLICATION = 3
MIN_INSYNC_FROM = 3  # brokers from which a write needs two in-sync replicas


@dataclass(frozen=True)
class Durability:
    """Replication of every topic on a cluster of ``brokers`` brokers."""

    brokers: int

    @property
    def replication_factor(self) -> int:
        return max(1, min(MAX_REPLICATION, self.brokers))

    @property
    def min_insync_replicas(self) -> int:
        return 2 if self.brokers >= MIN_INSYNC_FROM else 1

    def configs(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas)}


def topic_configs(topic: Topic, durability: Durability = Durability(1)) -> dict[str, str]:
    if topic in COMPACTED_TOPICS:
        base = dict(_COMPACTED)
    elif topic in (Topic.ALERTS,):
        base = {}
    else:
        base = dict(_RETAIN_FOREVER)
    return base | durability.configs()


def cluster_durability(bootstrap: str, timeout_ms: int = 30_000) -> Durability:
    """The durability the cluster behind ``bootstrap`` allows (its live broker count)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=timeout_ms)
    try:
        return _durability(admin)
    finally:
        admin.close()


def _durability(admin: KafkaAdminClient) -> Durability:
    return Durability(len(admin.describe_cluster().get("brokers", [])) or 1)


def ensure_topics(
    bootstrap: str,
    prefix: str,
    partitions: int,
    topics: Iterable[Topic] = tuple(Topic),
    timeout_ms: int = 30_000,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Create the missing ``topics`` (physical names under ``prefix``) and the ``extra`` ones
    (physical name → configs, e.g. a Faust changelog); returns those created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=timeout_ms)
    try:
        existing = set(admin.list_topics())
        durability = _durability(admin)
        wanted = {physical(t, prefix): topic_configs(t, durability) for t in topics}
        for name, configs in (extra or {}).items():
            wanted[name] = dict(configs) | durability.configs()
        missing = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=durability.replication_factor,
                topic_configs=configs,
            )
            for name, configs in wanted.items()
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
        log.info(
            "created topics %s (replication %d, min.insync.replicas %d)",
            ", ".join(names),
            durability.replication_factor,
            durability.min_insync_replicas,
        )
        return names
    finally:
        admin.close()
