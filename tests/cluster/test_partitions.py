"""Raising the partition count (docs/SCALING.md): a new topic generation filled from the raw
events, on the real broker.

Generation 1 has one partition and two scoring workers: one scores, the other says it idles
(a log line, ``thidua_scoring_assigned_partitions`` 0, ``/readyz`` ready as a standby).
``thidua kafka regenerate`` copies the source topics into generation 2 with four partitions;
the stack restarts on it (new app id and writer group, ``kpi_counters`` cleared), both workers
now score, more events arrive, and the results count every dossier once and equal the batch
recompute.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.helpers import WRITE_ENV, dossier, recompute, unit
from tests.integration.stack import running_stack
from tests.integration.test_end_to_end import wait_for
from tests.integration.tokens import dev_token
from tests.kafka_cleanup import delete_topics
from thidua.contracts.topics import Topic, physical
from tools.local.supervisor import Child, thidua_argv

pytestmark = pytest.mark.integration

UNITS = ["so-noi-vu", "so-tai-chinh"]


def post(client: httpx.Client, url: str, events: list[dict[str, Any]], type_: str) -> None:
    response = client.post(
        f"{url}/v1/events",
        json=events,
        headers={
            "content-type": "application/cloudevents-batch+json",
            "authorization": f"Bearer {dev_token(type_)}",
        },
    )
    assert response.status_code == 202, response.text


def dossiers(first: int, count: int) -> list[dict[str, Any]]:
    return [
        dossier(
            f"p{n}",
            UNITS[n % 2],
            "online_full" if n % 3 else "direct",
            f"2025-03-{1 + n % 28:02d}T09:00:00+07:00",
        )
        for n in range(first, first + count)
    ]


def assignment(children: list[Child]) -> list[float]:
    """``thidua_scoring_assigned_partitions`` of every worker, sorted."""
    counts = []
    for child in children:
        if child.name.startswith("scoring") and child.ready_url:
            url = child.ready_url.removesuffix("/readyz") + "/metrics"
            found = re.search(
                r"^thidua_scoring_assigned_partitions (\S+)$", httpx.get(url, timeout=10).text, re.M
            )
            counts.append(float(found.group(1)) if found else -1.0)
    return sorted(counts)


def generation(tag: str, partitions: int) -> dict[str, str]:
    return {
        "THIDUA_TOPIC_PREFIX": f"gen{tag}.",
        "THIDUA_TOPIC_PARTITIONS": str(partitions),
        "THIDUA_SCORING_APP_ID": f"scoring-{tag}",
        "THIDUA_WRITER_GROUP": f"writer-{tag}",
    }


def test_raise_partitions_with_a_new_generation(
    kafka_bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run = uuid.uuid4().hex[:6]
    old, new = generation(f"{run}a", 1), generation(f"{run}b", 4)
    # generation 1 outlives its stack (the copy reads it); deleted when the test ends
    request.addfinalizer(
        lambda: delete_topics(
            kafka_bootstrap, old["THIDUA_TOPIC_PREFIX"], old["THIDUA_SCORING_APP_ID"]
        )
    )
    chdb = {"THIDUA_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'chdb'}"} | WRITE_ENV
    first = dossiers(0, 60)
    with httpx.Client(timeout=30) as client:
        g1 = running_stack(
            kafka_bootstrap, tmp_path / "g1", workers=2, env=old | chdb, keep_topics=True
        )
        with g1 as stack:
            post(client, stack.ingest_url, [unit(u) for u in UNITS], "vn.thidua.unit.upserted")
            post(client, stack.ingest_url, first, "vn.thidua.dvc.dossier.received")
            post(client, stack.ingest_url, first[:5], "vn.thidua.dvc.dossier.received")  # resent
            wait_for(lambda: assignment(stack.children), lambda a: a == [0.0, 1.0])
            wait_for(lambda: denominators(client, stack.api_url), lambda d: sum(d) == 60)
        logs = "".join((tmp_path / "g1" / "logs" / f"scoring-{n}.log").read_text() for n in (0, 1))
        assert "idle: no source partition assigned" in logs

        # The documented command (its own process: chDB belongs to one process at a time).
        to_prefix = new["THIDUA_TOPIC_PREFIX"]
        done = subprocess.run(
            [*thidua_argv("kafka"), "regenerate", "--to-prefix", to_prefix, "--partitions", "4"]
            + ["--reset-counters"],
            env=os.environ | old | chdb | {"THIDUA_KAFKA_BOOTSTRAP": kafka_bootstrap},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        dvc = physical(Topic.EVENTS_DVC, to_prefix)
        assert f"→ {dvc}: 65 records" in done.stdout  # the resends too: accepted records
        assert "kpi_counters cleared" in done.stdout

        with running_stack(kafka_bootstrap, tmp_path / "g2", workers=2, env=new | chdb) as stack:
            wait_for(lambda: assignment(stack.children), lambda a: a == [2.0, 2.0])
            post(client, stack.ingest_url, dossiers(60, 40), "vn.thidua.dvc.dossier.received")
            by_unit = wait_for(lambda: denominators(client, stack.api_url), lambda d: sum(d) == 100)
            assert by_unit == [50, 50]
            time.sleep(1)  # one more refresh: still 100, nothing counted twice
            assert sum(denominators(client, stack.api_url)) == 100
            report_json = recompute(client, stack.api_url)
            assert report_json["differences"] == 0, report_json


def denominators(client: httpx.Client, api_url: str) -> list[int]:
    found = []
    for uid in UNITS:
        r = client.get(f"{api_url}/v1/units/{uid}/scorecard", params={"period": "2025"})
        if r.status_code != 200:
            return [-1]
        c03 = next(c for c in r.json()["criteria"] if c["id"] == "C03")
        found.append(int(c03.get("denominator") or 0))
    return found
