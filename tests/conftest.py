"""Shared fixtures: one real Kafka broker per test session, a topic prefix per test, chDB."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka_cleanup import delete_topics
from tools.local import kafka_broker

TEST_PORT = int(os.environ.get("THIDUA_TEST_KAFKA_PORT", "39092"))
TEST_DATA = Path(os.environ.get("THIDUA_TEST_KAFKA_DIR", "/tmp/thidua-test-kafka"))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The session's broker: reused when already running (CI starts it first), else started
    here and stopped at the end."""
    cfg = kafka_broker.BrokerConfig(
        data_dir=TEST_DATA, port=TEST_PORT, controller_port=TEST_PORT + 1
    )
    already = kafka_broker.running_pid(cfg) is not None
    kafka_broker.start(cfg)
    yield cfg.bootstrap
    if not already:
        kafka_broker.stop(cfg)


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """Topics of one test never meet another test's; they are deleted after it (the tests'
    Faust app ids and consumer groups start with the prefix too)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    if "kafka_bootstrap" in request.fixturenames:
        delete_topics(f"127.0.0.1:{TEST_PORT}", prefix)


@pytest.fixture
def chdb_dsn(tmp_path: Path) -> str:
    return f"chdb://{tmp_path / 'chdb'}"
