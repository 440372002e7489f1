"""A real 3-node KRaft cluster (ports from 39192 up, never the session broker's 39092), shared
by the tests of this folder and stopped at their end."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local import kafka_broker
from tools.local.kafka_broker import BrokerConfig

FIRST_PORT = 39192


def free_block(size: int, first: int = FIRST_PORT) -> int:
    """The first port from ``first`` (by steps of 10) with ``size`` free ports after it."""
    for base in range(first, first + 1000, 10):
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="module")
def cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BrokerConfig]]:
    data = Path(tmp_path_factory.mktemp("kafka3"))
    nodes = kafka_broker.cluster(data, free_block(6), brokers=3)
    try:
        kafka_broker.start_cluster(nodes, progress=lambda _m: None)
        yield nodes
    finally:
        kafka_broker.stop_cluster(nodes, timeout=10)
