"""EntityPartitioner answers exactly as kafka-python's DefaultPartitioner."""

from __future__ import annotations

import os

from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2

from services.ingest.partitioner import EntityPartitioner, murmur2


class _Cluster:
    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions


def test_same_hash_and_partition_as_kafka_python() -> None:
    keys = [b"", b"a", b"ab", b"abc", b"abcd", "staff:CB-08-ngữ".encode()]
    keys += [os.urandom(n) for n in range(1, 64) for _ in range(20)]
    keys += [f"dossier.received:H08.{i:06d}".encode() for i in range(500)]
    ours, theirs = EntityPartitioner(), DefaultPartitioner()
    for key in keys:
        assert murmur2(key) == kafka_murmur2(key)
    for count in (1, 2, 3, 4, 7, 12, 64):
        cluster = _Cluster(count)
        for key in keys:
            expected = theirs.partition("t", key, key, None, None, cluster)
            assert ours.partition("t", key, key, None, None, cluster) == expected
