"""Real scoring workers (subprocesses) and real topics for the broker tests: no mocks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.scoring.processors import CounterKey, Number, exact
from thidua.contracts.events import CanonicalEvent
from thidua.contracts.topics import SOURCE_TOPICS, Topic, physical, topic_for
from thidua.kafka_admin import ensure_topics

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_topics(bootstrap: str, prefix: str, partitions: int = 4) -> None:
    ensure_topics(
        bootstrap,
        prefix,
        partitions,
        topics=(*SOURCE_TOPICS, Topic.KPI_COUNTERS, Topic.DEAD_LETTER),
    )


class Worker:
    """``thidua scoring`` in a subprocess, with its own port, data dir and log file."""

    def __init__(
        self, bootstrap: str, prefix: str, app_id: str, workdir: Path, name: str = "w"
    ) -> None:
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.env = {
            **os.environ,
            "THIDUA_KAFKA_BOOTSTRAP": bootstrap,
            "THIDUA_TOPIC_PREFIX": prefix,
            "THIDUA_TOPIC_PARTITIONS": "4",
            "THIDUA_SCORING_APP_ID": app_id,
            "THIDUA_SCORING_PORT": str(self.port),
            "THIDUA_SCORING_DATA_DIR": str(workdir / f"{name}-data"),
            "THIDUA_LOG_LEVEL": "INFO",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from services.scoring.main import run; run()"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            try:
                if httpx.get(self.url("/readyz"), timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout}s\n{self.tail()}")

    def metrics(self) -> str:
        return httpx.get(self.url("/metrics"), timeout=5).text

    def kill(self) -> None:
        """SIGKILL: no goodbye, no commit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait for the clean exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"worker ignored SIGTERM\n{self.tail()}") from None
        return self.proc.returncode

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_bytes().decode(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def produce(
    bootstrap: str,
    prefix: str,
    events: Iterable[CanonicalEvent],
    extra: Iterable[tuple[str, bytes, bytes]] = (),
) -> None:
    """Send events as ingest does (key = entity key, value = canonical bytes), then raw extras."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for event in events:
            producer.send(
                physical(topic_for(event.type), prefix),
                key=event.entity_key.encode(),
                value=event.to_bytes(),
            )
        for topic, key, value in extra:
            producer.send(physical(Topic(topic), prefix), key=key, value=value)
        producer.flush()
    finally:
        producer.close()


class CounterReader:
    """Reads ``kpi-counters`` as the writer does (read_committed) and folds it per key."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.topic = physical(Topic.KPI_COUNTERS, prefix)
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        partitions = self.consumer.partitions_for_topic(self.topic) or set()
        self.consumer.assign([TopicPartition(self.topic, p) for p in partitions])
        self.latest: dict[bytes, dict[str, Any]] = {}

    def poll(self, seconds: float = 0.3) -> int:
        """Read what arrived; returns how many messages."""
        count = 0
        for records in self.consumer.poll(timeout_ms=int(seconds * 1000)).values():
            count += len(records)
            for record in records:
                value = orjson.loads(record.value)
                expected_key = (
                    f"{value['unit_id']}|{value['measure']}|{value['day']}|{value['partition']}"
                )
                assert record.key.decode() == expected_key
                assert record.partition == value["partition"]
                self.latest[record.key] = value
        return count

    def totals(self) -> dict[CounterKey, Number]:
        """Counters summed over source partitions, zeros dropped (the shape of ``fold``)."""
        sums: dict[CounterKey, Number] = {}
        for value in self.latest.values():
            key = (value["unit_id"], value["measure"], value["day"])
            sums[key] = sums.get(key, 0) + exact(value["value"])
        return {k: v for k, v in sums.items() if v != 0}

    def wait_for(
        self, expected: dict[CounterKey, Number], timeout: float = 60
    ) -> dict[CounterKey, Number]:
        deadline = time.monotonic() + timeout
        totals: dict[CounterKey, Number] = {}
        while time.monotonic() < deadline:
            if self.poll():
                continue  # summed once caught up (summing after every poll took minutes)
            totals = self.totals()
            if totals == expected:
                return totals
        return self.totals()

    def close(self) -> None:
        self.consumer.close()


def diff(actual: dict[Any, Any], expected: dict[Any, Any]) -> dict[Any, tuple[Any, Any]]:
    return {
        k: (actual.get(k), expected.get(k))
        for k in actual.keys() | expected.keys()
        if actual.get(k) != expected.get(k)
    }


def read_dead_letters(bootstrap: str, prefix: str, timeout: float = 5) -> list[Any]:
    consumer = KafkaConsumer(
        physical(Topic.DEAD_LETTER, prefix),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(timeout * 1000),
    )
    try:
        return list(consumer)
    finally:
        consumer.close()
