"""ensure_topics: idempotent, compacted KPI topics."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from thidua.contracts.topics import Topic, physical
from thidua.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration


def test_creates_missing_topics_once_with_compaction(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    created = ensure_topics(kafka_bootstrap, topic_prefix, 3)
    assert sorted(created) == sorted(physical(t, topic_prefix) for t in Topic)
    assert ensure_topics(kafka_bootstrap, topic_prefix, 3) == []
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = admin.describe_topics([physical(Topic.EVENTS_DVC, topic_prefix)])
        assert len(described[0]["partitions"]) == 3
        for topic, key, value in [
            (Topic.KPI_COUNTERS, "cleanup.policy", "compact"),
            (Topic.KPI_RESULTS, "cleanup.policy", "compact"),
            (Topic.EVENTS_DVC, "retention.ms", "-1"),  # the system of record: kept forever
        ]:
            name = physical(topic, topic_prefix)
            configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
            assert configs["topic"][name][key]["value"] == value
    finally:
        admin.close()
