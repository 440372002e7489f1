"""Issue 2's slice end to end: CloudEvents → ingest → Kafka → Faust → ClickHouse → API.

Units and dossiers (with a correction, a resend, a dossier after the year's end and one for a
unit registered late) go through the real broker and chDB; the API must serve the exact C03
values and ranking.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.contract import assert_contract
from tests.integration.stack import running_stack
from tests.integration.tokens import dev_token

pytestmark = pytest.mark.integration


def ce(source: str, event_id: str, type_: str, time_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type_,
        "time": time_,
        "datacontenttype": "application/json",
        "data": data,
    }


REGISTRY = "urn:thidua:tuyen-quang:registry"
DVC = "urn:thidua:tuyen-quang:dvc"


def unit(uid: str, name: str, t: str = "2024-12-01T08:00:00+07:00") -> dict[str, Any]:
    return ce(
        REGISTRY,
        f"u-{uid}",
        "vn.thidua.unit.upserted",
        t,
        {"unit_id": uid, "name": name, "tier": "province_agency", "active": True},
    )


def dossier(did: str, uid: str, channel: str, t: str, eid: str | None = None) -> dict[str, Any]:
    return ce(
        DVC,
        eid or f"d-{did}-{t}",
        "vn.thidua.dvc.dossier.received",
        t,
        {"dossier_id": did, "unit_id": uid, "procedure_id": "p1", "channel": channel},
    )


def post(client: httpx.Client, url: str, events: list[dict[str, Any]], token: str) -> None:
    response = client.post(
        f"{url}/v1/events",
        json=events,
        headers={
            "content-type": "application/cloudevents-batch+json",
            "authorization": f"Bearer {token}",
        },
    )
    assert response.status_code == 202, response.text


def wait_for(fetch, predicate, timeout: float = 90.0) -> Any:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if predicate(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"condition not met in {timeout}s; last: {last}")


def test_c03_flows_end_to_end(kafka_bootstrap: str, tmp_path: Path) -> None:
    with running_stack(kafka_bootstrap, tmp_path) as stack, httpx.Client(timeout=10) as client:
        registry, dvc = (
            dev_token("vn.thidua.unit.upserted"),
            dev_token("vn.thidua.dvc.dossier.received"),
        )
        post(
            client,
            stack.ingest_url,
            [unit("so-noi-vu", "Sở Nội vụ"), unit("so-tai-chinh", "Sở Tài chính")],
            registry,
        )
        resent = dossier("a1", "so-noi-vu", "online_full", "2025-03-01T09:00:00+07:00")
        post(
            client,
            stack.ingest_url,
            [
                resent,
                dossier("a2", "so-noi-vu", "online_full", "2025-03-02T09:00:00+07:00"),
                dossier("a3", "so-noi-vu", "online_full", "2025-12-31T23:59:59+07:00"),
                dossier("a4", "so-noi-vu", "direct", "2025-06-01T09:00:00+07:00"),
                # 00:00 on 1 January local time is 2026: not in 2025.
                dossier("a5", "so-noi-vu", "direct", "2025-12-31T17:00:00Z"),
                # Correction: b1 was first recorded as direct, then as fully online (later time).
                dossier("b1", "so-tai-chinh", "direct", "2025-04-01T09:00:00+07:00"),
                dossier("b1", "so-tai-chinh", "online_full", "2025-04-01T10:00:00+07:00"),
                dossier("b2", "so-tai-chinh", "online_full", "2025-05-01T09:00:00+07:00"),
                # A unit whose registry event comes after its dossiers.
                dossier("c1", "so-y-te", "postal", "2025-07-01T09:00:00+07:00"),
                dossier("c2", "so-y-te", "online_partial", "2025-07-02T09:00:00+07:00"),
            ],
            dvc,
        )
        post(client, stack.ingest_url, [resent], dvc)  # a resend: accepted, no effect
        post(
            client,
            stack.ingest_url,
            [unit("so-y-te", "Sở Y tế", "2025-01-01T08:00:00+07:00")],
            registry,
        )

        def rankings() -> dict[str, Any]:
            r = client.get(
                f"{stack.api_url}/v1/rankings", params={"tier": "province_agency", "period": "2025"}
            )
            return r.json() if r.status_code == 200 else {}

        def settled(body: dict[str, Any]) -> bool:
            return [i["unit_id"] for i in body.get("items", [])] == [
                "so-tai-chinh",
                "so-noi-vu",
                "so-y-te",
            ] and body["items"][1]["score"] == pytest.approx(100 * (0.75 / 0.8) / 16)

        body = wait_for(rankings, settled)
        assert body["tier"] == "province_agency" and body["period"] == "2025"
        assert [(i["rank"], i["score"]) for i in body["items"]] == [
            (1, pytest.approx(100 / 16)),
            (2, pytest.approx(100 * (0.75 / 0.8) / 16)),
            (3, 0.0),
        ]
        assert body["items"][0]["criteria_total"] == 16 and "C03" not in body["items"][0]["no_data"]

        def c03(unit_id: str, period: str) -> dict[str, Any]:
            url = f"{stack.api_url}/v1/units/{unit_id}/scorecard"
            r = client.get(url, params={"period": period})
            if r.status_code != 200:
                return {}
            return next(c for c in r.json()["criteria"] if c["id"] == "C03") | {"_card": r.json()}

        # Each period is materialized by the refresh that saw its days: wait for every one.
        c03_2025 = wait_for(lambda: c03("so-noi-vu", "2025"), lambda c: c.get("denominator") == 4)
        assert (c03_2025["numerator"], c03_2025["value"], c03_2025["target"]) == (3, 0.75, 0.8)
        assert c03_2025["met"] is False and c03_2025["attainment"] == pytest.approx(0.9375)
        assert c03_2025["_card"]["rank"] == 2

        # a5 (00:00 on 1 January 2026, local time) is 2026's: one direct dossier.
        c03_2026 = wait_for(lambda: c03("so-noi-vu", "2026"), lambda c: c.get("denominator") == 1)
        assert c03_2026["numerator"] == 0
        # so-y-te's dossiers, registered late, count once the unit is known.
        wait_for(lambda: c03("so-y-te", "2025"), lambda c: c.get("denominator") == 2)

        # Every SPEC §5 endpoint, on this data that went through the real pipeline.
        with httpx.Client(base_url=stack.api_url, timeout=10) as api:
            assert_contract(api, period="2025", tier="province_agency", unit_id="so-noi-vu")

        # notify's input: the writer published the same scorecard to the compacted kpi-results.
        results = read_results(kafka_bootstrap, stack.env["THIDUA_TOPIC_PREFIX"])
        published = results["2025|so-noi-vu"]
        assert published["rank"] == 2
        assert next(c for c in published["criteria"] if c["id"] == "C03")["value"] == 0.75


def read_results(bootstrap: str, prefix: str, timeout: float = 30.0) -> dict[str, Any]:
    """The latest kpi-results message per key, read up to the end offsets (bounded in time)."""
    from kafka import KafkaConsumer, TopicPartition

    topic = f"{prefix}kpi-results"
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        assert partitions, f"no topic {topic}"
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        latest: dict[str, Any] = {}
        while time.monotonic() < deadline and any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    latest[record.key.decode()] = json.loads(record.value)
        return latest
    finally:
        consumer.close()
