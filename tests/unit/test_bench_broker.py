"""The benches' broker (``bench.broker``) keeps clear of the test suite's."""

from __future__ import annotations

import pytest

from bench import broker
from tests.cluster.conftest import FIRST_PORT
from tests.conftest import TEST_DATA, TEST_PORT


def test_the_benches_own_broker_is_not_the_tests() -> None:
    ports = {broker.PORT, broker.PORT + 1}  # the listener and the controller
    assert ports.isdisjoint({TEST_PORT, TEST_PORT + 1})
    assert ports.isdisjoint(range(FIRST_PORT, FIRST_PORT + 1000))  # tests/cluster's search
    assert broker.DATA_DIR != TEST_DATA


def test_bootstrap_uses_a_running_broker_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("no broker is started or stopped with --bootstrap")

    for name in ("fetch", "start", "stop"):
        monkeypatch.setattr(broker.kafka_broker, name, refuse)
    with broker.bench_broker("10.0.0.7:9092") as bootstrap:
        assert bootstrap == "10.0.0.7:9092"
