"""Ingest throughput: batches of 100 CloudEvents over HTTP → Kafka, beside the raw producer.

Starts ``thidua ingest`` (uvicorn, one process) on a free port under a fresh topic prefix,
drives it with keep-alive HTTP clients for a bounded time, then measures the raw kafka-python
producer (same config: acks=all, idempotence, lz4) on the same broker with the same records.

    .venv/bin/python bench/ingest/run.py [--seconds 10] [--clients 4] [--workers 1]
                                         [--bootstrap HOST:PORT]

Goal (issue 3): ≥ 20,000 events/s accepted, p99 < 100 ms, ≥ 50 % of the raw producer rate.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from services.ingest.producer import PRODUCER_CONFIG  # noqa: E402
from thidua.kafka_admin import ensure_topics  # noqa: E402

TOKEN = "thidua-dev-dvc-token"
BATCH = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def batch_body(client: int, number: int) -> bytes:
    return orjson.dumps(
        [
            {
                "specversion": "1.0",
                "id": f"bench-{client}-{number}-{i}",
                "source": "/dvc/bench",
                "type": "vn.thidua.dvc.dossier.received",
                "time": "2025-03-01T10:00:00+07:00",
                "data": {
                    "dossier_id": f"H08.{client}.{number}.{i}",
                    "unit_id": f"unit-{i % 40}",
                    "procedure_id": "1.001234",
                    "channel": "online_full",
                },
            }
            for i in range(BATCH)
        ]
    )


def start_ingest(bootstrap: str, prefix: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "THIDUA_KAFKA_BOOTSTRAP": bootstrap,
        "THIDUA_TOPIC_PREFIX": prefix,
        "THIDUA_INGEST_PORT": str(port),
        "THIDUA_INGEST_TOKENS_FILE": str(REPO / "config" / "ingest-sources.example.yaml"),
        "THIDUA_LOG_LEVEL": "WARNING",
        "THIDUA_INGEST_WORKERS": str(workers),
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.ingest.main"], cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("ingest did not become ready")


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its descendants (Linux /proc).

    The machine is shared, so events/s moves with the neighbours' load; CPU per event does not.
    """
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def drive(port: int, seconds: float, clients: int) -> tuple[int, list[float], int]:
    """Each client posts batches back to back on one keep-alive connection."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    accepted = [0] * clients
    failures = [0] * clients
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/cloudevents-batch+json",
        }
        number = 0
        while time.monotonic() < stop_at:
            body = batch_body(n, number)
            number += 1
            started = time.perf_counter()
            conn.request("POST", "/v1/events", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            latencies[n].append(time.perf_counter() - started)
            if response.status == 202:
                accepted[n] += orjson.loads(payload)["accepted"]
            else:
                failures[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(accepted), [x for per in latencies for x in per], sum(failures)


def raw_producer_rate(bootstrap: str, prefix: str, count: int) -> float:
    from kafka import KafkaProducer

    from services.ingest.cloudevents import validate_all
    from thidua.contracts.events import CanonicalEvent

    events, _ = validate_all(orjson.loads(batch_body(0, 0)))
    records = [
        (
            event.key,
            CanonicalEvent.model_construct(
                source=event.source,
                id=event.id,
                type=event.type,
                time=event.time,
                seq=time.time_ns(),
                data=event.data,
            ).to_bytes(),
        )
        for event in events
    ]
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_CONFIG)
    topic = f"{prefix}raw-producer"
    producer.send(topic, b"warm-up").get(timeout=30)
    started = time.perf_counter()
    for i in range(count):
        key, value = records[i % len(records)]
        producer.send(topic, key=key, value=value)
    producer.flush()
    rate = count / (time.perf_counter() - started)
    producer.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=1, help="ingest processes")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("THIDUA_KAFKA_BOOTSTRAP", "127.0.0.1:39092")
    )
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    ensure_topics(args.bootstrap, prefix, 4)
    port = free_port()
    ingest = start_ingest(args.bootstrap, prefix, port, args.workers)
    try:
        drive(port, 1.5, args.clients)  # warm-up: connections, metadata, JIT-free caches
        cpu_before = process_tree_cpu(ingest.pid)
        accepted, latencies, failures = drive(port, args.seconds, args.clients)
        cpu = process_tree_cpu(ingest.pid) - cpu_before
    finally:
        ingest.terminate()
        ingest.wait(timeout=30)
    rate = accepted / args.seconds
    quantiles = statistics.quantiles(latencies, n=100)
    raw = raw_producer_rate(args.bootstrap, prefix, max(accepted // 2, 50_000))
    print(
        f"ingest  : {rate:,.0f} events/s accepted into Kafka "
        f"({accepted:,} events in {args.seconds:.0f} s, {len(latencies):,} requests of "
        f"{BATCH}, {args.clients} clients, {args.workers} worker(s), {failures} non-202)"
    )
    print(f"latency : p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms")
    print(
        f"cpu     : {cpu / max(accepted, 1) * 1e6:.1f} µs of ingest CPU per event "
        f"({cpu / args.seconds:.2f} cores busy; load average {os.getloadavg()[0]:.2f})"
    )
    print(f"raw     : {raw:,.0f} records/s (kafka-python producer, same config and broker)")
    print(f"ratio   : {rate / raw:.0%} of the raw producer rate")


if __name__ == "__main__":
    main()
