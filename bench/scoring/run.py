"""Scoring throughput: one Faust worker beside a raw aiokafka consumer, same topics, same run.

    .venv/bin/python bench/scoring/run.py [--events 30000] [--bootstrap 127.0.0.1:39092]

1. produce N canonical events (corrections, resends, every type) to fresh prefixed topics;
2. raw: an aiokafka consumer reads all source partitions from the start (no decoding) → msg/s;
3. scoring: a worker subprocess starts on the filled topics; from the moment it is ready
   (partitions assigned, tables restored) until ``kpi-counters`` (read_committed) equals the
   pure processors' fold of the N events → sustained events/s, end to end, exactly once.

Each stage is a function returning a dict, so later stages (ClickHouse writer, freshness)
can be added beside them; ``--json`` prints the results as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.scoring.processors import fold  # noqa: E402
from tests.scoring.harness import CounterReader, Worker, create_topics, produce  # noqa: E402
from tests.scoring.workload import make_events  # noqa: E402
from thidua.contracts.criteria import default_criteria  # noqa: E402
from thidua.contracts.events import CanonicalEvent  # noqa: E402
from thidua.contracts.topics import SOURCE_TOPICS, physical  # noqa: E402


def stage_produce(bootstrap: str, prefix: str, events: list[CanonicalEvent]) -> dict[str, Any]:
    started = time.perf_counter()
    produce(bootstrap, prefix, events)
    seconds = time.perf_counter() - started
    return {"events": len(events), "seconds": seconds, "per_second": len(events) / seconds}


def stage_raw_consumer(bootstrap: str, prefix: str, count: int) -> dict[str, Any]:
    """A plain aiokafka consumer over the same source partitions: the transport's ceiling."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from kafka import KafkaConsumer

    names = [physical(t, prefix) for t in SOURCE_TOPICS]
    meta = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = {name: sorted(meta.partitions_for_topic(name) or ()) for name in names}
    meta.close()

    async def read() -> dict[str, Any]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(name, p) for name in names for p in partitions[name]]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            seen = 0
            started = time.perf_counter()
            while seen < count:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                seen += sum(len(records) for records in batches.values())
            seconds = time.perf_counter() - started
            return {"events": seen, "seconds": seconds, "per_second": seen / seconds}
        finally:
            await consumer.stop()

    return asyncio.run(read())


def stage_scoring_worker(
    bootstrap: str, prefix: str, events: list[CanonicalEvent], workdir: Path, timeout: float
) -> dict[str, Any]:
    expected = fold(events, indicator_ids=default_criteria().indicator_ids())
    reader = CounterReader(bootstrap, prefix)
    worker = Worker(bootstrap, prefix, f"bench-{uuid.uuid4().hex[:8]}", workdir, "bench")
    try:
        launched = time.perf_counter()
        worker.start().wait_ready(timeout=120)
        ready = time.perf_counter()
        deadline = ready + timeout
        totals: dict[Any, Any] = {}
        while time.perf_counter() < deadline:
            reader.poll(0.2)
            totals = reader.totals()
            if totals == expected:
                break
        done = time.perf_counter()
        seconds = done - ready
        complete = totals == expected
        return {
            "events": len(events),
            "startup_seconds": ready - launched,
            "seconds": seconds,
            "per_second": len(events) / seconds if complete else None,
            "counters": len(reader.latest),
            "complete": complete,
        }
    finally:
        worker.stop()
        reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("THIDUA_KAFKA_BOOTSTRAP", "127.0.0.1:39092")
    )
    parser.add_argument("--timeout", type=float, default=120, help="scoring stage limit (s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}."
    create_topics(args.bootstrap, prefix)
    events = make_events(args.events, seed=1, entities=max(100, args.events // 3), units=40)
    results: dict[str, Any] = {"prefix": prefix}
    results["produce"] = stage_produce(args.bootstrap, prefix, events)
    results["raw_consumer"] = stage_raw_consumer(args.bootstrap, prefix, len(events))
    with tempfile.TemporaryDirectory() as workdir:
        results["scoring"] = stage_scoring_worker(
            args.bootstrap, prefix, events, Path(workdir), args.timeout
        )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    raw, scoring = results["raw_consumer"], results["scoring"]
    print(f"events                   {len(events)}")
    print(f"produce (kafka-python)   {results['produce']['per_second']:,.0f} events/s")
    print(f"raw aiokafka consumer    {raw['per_second']:,.0f} events/s")
    if scoring["complete"]:
        print(
            f"scoring worker (1)       {scoring['per_second']:,.0f} events/s  "
            f"({scoring['seconds']:.1f} s after ready; startup {scoring['startup_seconds']:.1f} s; "
            f"{scoring['counters']} counters)"
        )
    else:
        print(f"scoring worker           INCOMPLETE after {scoring['seconds']:.0f} s")


if __name__ == "__main__":
    main()
