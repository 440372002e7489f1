"""Issue 17: one of three brokers dies under load and nothing notices but the operator.

A real stack (ingest, a Faust worker, the api with the chDB writer) runs on a 3-node KRaft
cluster; topics have replication factor 3 and ``min.insync.replicas`` 2, producers ``acks=all``.
While a client posts dossiers (and resends some), the broker leading the most partitions is
SIGKILLed. Every request must still be answered 202; every accepted dossier must be counted
exactly once; and the streaming results must equal ``thidua recompute`` (the api's
``POST /v1/recompute``: every KPI again from the raw events).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaAdminClient

from tests.cluster.helpers import WRITE_ENV, dossier, recompute, unit
from tests.integration.stack import running_stack
from tests.integration.test_end_to_end import wait_for
from tests.integration.tokens import dev_token
from thidua.contracts.topics import SOURCE_TOPICS, physical
from thidua.kafka_admin import Durability
from tools.local import kafka_broker
from tools.local.kafka_broker import BrokerConfig

pytestmark = pytest.mark.integration

UNITS = ["so-noi-vu", "so-tai-chinh", "so-y-te"]
BATCH = 50


class Load:
    """Posts batches of new dossiers (each batch also resends one of the previous batch)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.received: Counter[str] = Counter()  # unit → dossiers accepted
        self.online: Counter[str] = Counter()
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        token = dev_token("vn.thidua.dvc.dossier.received")
        headers = {
            "content-type": "application/cloudevents-batch+json",
            "authorization": f"Bearer {token}",
        }
        previous: dict[str, Any] | None = None
        n = 0
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                batch, counted = [], []
                for _ in range(BATCH):
                    uid = UNITS[n % len(UNITS)]
                    channel = "online_full" if n % 4 else "direct"
                    minute = n % (60 * 24 * 28)
                    day, hour = 1 + minute // 1440, minute // 60 % 24
                    when = f"2025-02-{day:02d}T{hour:02d}:{minute % 60:02d}:00+07:00"
                    batch.append(dossier(f"k{n}", uid, channel, when))
                    counted.append((uid, channel))
                    n += 1
                sent = batch + ([previous] if previous else [])
                started = time.monotonic()
                response = client.post(f"{self.url}/v1/events", json=sent, headers=headers)
                self.slowest = max(self.slowest, time.monotonic() - started)
                self.statuses[response.status_code] += 1
                if response.status_code == 202:
                    for uid, channel in counted:
                        self.received[uid] += 1
                        self.online[uid] += channel == "online_full"
                previous = batch[0]
                time.sleep(0.05)


def busiest_leader(bootstrap: str, prefix: str) -> int:
    """The node id leading the most source partitions of this stack."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        described = admin.describe_topics([physical(t, prefix) for t in SOURCE_TOPICS])
    finally:
        admin.close()
    leaders = Counter(p["leader_id"] for t in described for p in t["partitions"])
    replicas = {len(p["replica_nodes"]) for t in described for p in t["partitions"]}
    assert replicas == {3}, f"source partitions' replica counts: {replicas}"
    return leaders.most_common(1)[0][0]


def test_a_broker_dies_under_load(cluster3: list[BrokerConfig], tmp_path: Path) -> None:
    bootstrap = kafka_broker.bootstrap_of(cluster3)
    assert Durability(3).min_insync_replicas == 2
    with (
        running_stack(bootstrap, tmp_path, env=WRITE_ENV) as stack,
        httpx.Client(timeout=30) as client,
    ):
        registry = dev_token("vn.thidua.unit.upserted")
        units = [unit(uid) for uid in UNITS]
        response = client.post(
            f"{stack.ingest_url}/v1/events",
            json=units,
            headers={
                "content-type": "application/cloudevents-batch+json",
                "authorization": f"Bearer {registry}",
            },
        )
        assert response.status_code == 202, response.text

        load = Load(stack.ingest_url)
        load.start()
        try:
            time.sleep(4)
            victim = busiest_leader(bootstrap, stack.env["THIDUA_TOPIC_PREFIX"])
            node = next(n for n in cluster3 if n.node_id == victim)
            before = sum(load.statuses.values())
            pid = kafka_broker.running_pid(node)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            time.sleep(10)
            after = sum(load.statuses.values()) - before
        finally:
            load.stop()
        assert set(load.statuses) == {202}, f"ingest answered {dict(load.statuses)}"
        assert after >= 5, f"only {after} requests after the broker died"

        def c03(uid: str) -> dict[str, Any]:
            r = client.get(f"{stack.api_url}/v1/units/{uid}/scorecard", params={"period": "2025"})
            if r.status_code != 200:
                return {}
            return next(c for c in r.json()["criteria"] if c["id"] == "C03")

        for uid in UNITS:
            card = wait_for(
                lambda uid=uid: c03(uid),
                lambda c, uid=uid: c.get("denominator") == load.received[uid],
                timeout=90,
            )
            assert card["numerator"] == load.online[uid], uid

        report = recompute(client, stack.api_url)
        assert report["differences"] == 0, report
        assert any(p["period"] == "2025" and p["units"] == len(UNITS) for p in report["periods"])
        print(
            f"\n{sum(load.received.values())} dossiers in {sum(load.statuses.values())} "
            f"requests ({after} after node {victim} died), slowest answer {load.slowest:.1f}s"
        )
