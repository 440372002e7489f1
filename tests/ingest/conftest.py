"""Ingest fixtures: an app on the real broker under the test's own topic prefix."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from starlette.testclient import TestClient

from services.ingest.app import create_app
from thidua.settings import IngestSettings

REPO = Path(__file__).resolve().parents[2]
SOURCES_FILE = REPO / "config" / "ingest-sources.example.yaml"
# The documented development tokens of config/ingest-sources.example.yaml.
SIMULATOR = {"Authorization": "Bearer thidua-dev-simulator-token"}
DVC = {"Authorization": "Bearer thidua-dev-dvc-token"}
LMS = {"Authorization": "Bearer thidua-dev-lms-token"}
EDOC = {"Authorization": "Bearer thidua-dev-edoc-token"}
REGISTRY = {"Authorization": "Bearer thidua-dev-registry-token"}
STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def dossier(number: int = 1, **changes: Any) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": f"dvc-{number:06d}",
        "source": "/dvc/tuyenquang",
        "type": "vn.thidua.dvc.dossier.received",
        "time": "2025-03-01T10:00:00+07:00",
        "datacontenttype": "application/json",
        "data": {
            "dossier_id": f"H08.{number:06d}",
            "unit_id": "sotttt",
            "procedure_id": "1.001234",
            "channel": "online_full",
        },
    }
    event.update(changes)
    return event


@pytest.fixture
def settings_for(kafka_bootstrap: str, topic_prefix: str) -> Callable[..., IngestSettings]:
    def make(**overrides: Any) -> IngestSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap": kafka_bootstrap,
            "topic_prefix": topic_prefix,
            "topic_partitions": 2,
            "ingest_tokens_file": SOURCES_FILE,
        }
        values.update(overrides)
        return IngestSettings(**values)

    return make


@pytest.fixture
def client(settings_for: Callable[..., IngestSettings]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for())) as test_client:
        yield test_client


def consume(bootstrap: str, topic: str, count: int, timeout: float = 15.0) -> list[ConsumerRecord]:
    """Read the first ``count`` records of ``topic`` (every partition) from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] = set()
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        records: list[ConsumerRecord] = []
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()
