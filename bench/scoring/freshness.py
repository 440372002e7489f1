"""Scoring with ClickHouse writes, and freshness: the whole pipeline, real processes.

    .venv/bin/python bench/scoring/freshness.py [--events 20000] [--probes 40]

1. produce N canonical events (as ingest does) to fresh prefixed topics;
2. start ingest, one Faust worker and the api with the chDB writer inside; from the worker's
   readiness until the writer has landed every counter the worker published (and its lag is
   0) → sustained events/s through one worker *with* ClickHouse writes;
3. freshness: post single dossiers through ingest, one at a time, and time each from ingest's
   202 until the api's scorecard shows it → p50/p99.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.stack import running_stack  # noqa: E402
from tests.integration.tokens import SIMULATOR_TOKEN  # noqa: E402
from tests.scoring.harness import create_topics, produce  # noqa: E402
from tests.scoring.workload import make_events  # noqa: E402
from thidua.contracts.periods import LOCAL_TZ  # noqa: E402


def metric(text: str, name: str) -> float:
    found = re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
    return sum(float(x) for x in found)


def drained(api: str, scoring: str, events: int) -> bool:
    worker = httpx.get(f"{scoring}/metrics", timeout=5).text
    writer = httpx.get(f"{api}/metrics", timeout=5).text
    published = metric(worker, "thidua_scoring_counters_published_total")
    written = metric(writer, 'thidua_writer_rows_written_total\\{table="kpi_counters"\\}')
    scored = metric(worker, "thidua_scoring_events_total")
    lag = metric(writer, "thidua_writer_consumer_lag")
    return scored >= events and published > 0 and written >= published and lag == 0


def dossier(n: int, unit: str) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"probe-{n}",
        "source": "urn:bench:dvc",
        "type": "vn.thidua.dvc.dossier.received",
        "time": datetime.now(LOCAL_TZ).isoformat(),
        "data": {
            "dossier_id": f"probe-{n}",
            "unit_id": unit,
            "procedure_id": "p",
            "channel": "online_full",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--bootstrap", default="127.0.0.1:39092")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        with running_stack(args.bootstrap, Path(tmp), start=False) as stack:
            prefix = stack.env["THIDUA_TOPIC_PREFIX"]
            create_topics(args.bootstrap, prefix)
            history = make_events(args.events, seed=3)
            produce(args.bootstrap, prefix, history)
            print(f"produced {len(history):,} events to {prefix}*", flush=True)
            stack.start()
            started = time.perf_counter()
            while not drained(stack.api_url, stack.scoring_url, len(history)):
                if time.perf_counter() - started > 600:
                    raise SystemExit("not drained within 600 s")
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            print(
                f"one worker + ClickHouse writes: {len(history) / seconds:,.0f} events/s "
                f"({len(history):,} events in {seconds:.1f} s, exactly once, writer lag 0)",
                flush=True,
            )

            unit = "bench-probe-unit"
            with httpx.Client(timeout=10) as http:
                headers = {
                    "content-type": "application/cloudevents-batch+json",
                    "authorization": f"Bearer {SIMULATOR_TOKEN}",
                }
                registry = [
                    {
                        "specversion": "1.0",
                        "id": "probe-unit",
                        "source": "urn:bench:registry",
                        "type": "vn.thidua.unit.upserted",
                        "time": "2025-01-01T00:00:00+07:00",
                        "data": {
                            "unit_id": unit,
                            "name": "Đơn vị đo",
                            "tier": "province_agency",
                            "active": True,
                        },
                    }
                ]
                http.post(f"{stack.ingest_url}/v1/events", json=registry, headers=headers)
                samples: list[float] = []
                for n in range(1, args.probes + 1):
                    response = http.post(
                        f"{stack.ingest_url}/v1/events", json=[dossier(n, unit)], headers=headers
                    )
                    accepted = time.perf_counter()
                    assert response.status_code == 202, response.text
                    while True:
                        card = http.get(
                            f"{stack.api_url}/v1/units/{unit}/scorecard",
                            params={"period": "rolling-30d"},
                        )
                        if card.status_code == 200:
                            c03 = next(c for c in card.json()["criteria"] if c["id"] == "C03")
                            if c03["denominator"] >= n:
                                break
                        if time.perf_counter() - accepted > 30:
                            raise SystemExit(f"probe {n} not visible after 30 s")
                        time.sleep(0.01)
                    samples.append(time.perf_counter() - accepted)
            samples.sort()
            p50 = statistics.median(samples)
            p99 = samples[min(len(samples) - 1, int(round(0.99 * (len(samples) - 1))))]
            print(
                f"freshness (ingest 202 → visible in the api), {len(samples)} probes: "
                f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (goal p99 ≤ 2000 ms)",
                flush=True,
            )


if __name__ == "__main__":
    main()
