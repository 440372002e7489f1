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


def test_durability_follows_the_cluster_size() -> None:
    from thidua.kafka_admin import Durability, topic_configs

    assert [Durability(n).replication_factor for n in (1, 2, 3, 5)] == [1, 2, 3, 3]
    assert [Durability(n).min_insync_replicas for n in (1, 2, 3, 5)] == [1, 1, 2, 2]
    assert topic_configs(Topic.EVENTS_DVC, Durability(3))["min.insync.replicas"] == "2"
    assert topic_configs(Topic.KPI_RESULTS, Durability(1)) == {
        "cleanup.policy": "compact",
        "min.insync.replicas": "1",
    }


def test_a_local_cluster_numbers_its_nodes_and_shares_one_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.local.kafka_broker import _write_config, bootstrap_of, cluster

    nodes = cluster(tmp_path, 40000, brokers=3)
    assert [(n.node_id, n.port, n.controller_port) for n in nodes] == [
        (1, 40000, 40001),
        (2, 40002, 40003),
        (3, 40004, 40005),
    ]
    assert len({n.cluster_id for n in nodes}) == 1
    assert bootstrap_of(nodes) == "127.0.0.1:40000,127.0.0.1:40002,127.0.0.1:40004"
    props = _write_config(nodes[1]).read_text()
    assert "node.id=2" in props and "min.insync.replicas=2" in props
    assert "controller.quorum.voters=1@127.0.0.1:40001,2@127.0.0.1:40003,3@127.0.0.1:40005" in props
    single = cluster(tmp_path / "one", 40010)[0]
    assert "default.replication.factor=1" in _write_config(single).read_text()
