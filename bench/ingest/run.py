"""Ingest throughput: batches of 100 CloudEvents over HTTP → Kafka, beside the raw producer,
and the national portal's adapter (``POST /v1/dvcqg/dossiers``, DongBoHoSoMC batches of 100).

Starts ``thidua ingest`` (uvicorn, one process) on a free port under a fresh topic prefix,
drives it with keep-alive HTTP clients for a bounded time, then measures the raw kafka-python
producer (same config: acks=all, idempotence, lz4) on the same broker with the same records.
The DVCQG run drives the same process for as long, after registering the units' codes and a
full-online procedure (each dossier's unit and channel are looked up, as in production).

    .venv/bin/python bench/ingest/run.py [--seconds 10] [--clients 4] [--workers 1]
                                         [--bootstrap HOST:PORT]

Runs on the bench's own broker (``bench.broker``: started if needed, stopped at the end)
unless ``--bootstrap`` names one; the run's topics are deleted at the end.

Goal (issue 3): ≥ 20,000 events/s accepted, p99 < 100 ms, ≥ 50 % of the raw producer rate.
Goal (issue 16): the DVCQG adapter ≥ 50 % of the CloudEvents rate.
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

from bench.broker import add_option, bench_broker  # noqa: E402
from services.ingest.producer import PRODUCER_CONFIG  # noqa: E402
from tests.kafka_cleanup import delete_topics  # noqa: E402
from thidua.kafka_admin import ensure_topics  # noqa: E402

TOKEN = "thidua-dev-dvc-token"
REGISTRY_TOKEN = "thidua-dev-registry-token"
BATCH = 100
UNITS = 40


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


def portal_body(client: int, number: int) -> bytes:
    """One DongBoHoSoMC batch: the fields of the C# client's HoSoDongBoDVC that ingest reads,
    plus a few it ignores, as a one-stop-shop system sends them."""
    return orjson.dumps(
        {
            "service": "DongBoHoSoMC",
            "isUpdating": "False",
            "data": [
                {
                    "MaHoSo": f"000.00.{i % UNITS:02d}.H08-{client}-{number}-{i}",
                    "MaTTHC": "1.001234",
                    "TenTTHC": "Thủ tục thử tải",
                    "KenhThucHien": "2",
                    "ChuHoSo": "Nguyễn Văn A",
                    "LoaiDoiTuong": "1",
                    "NgayTiepNhan": "20250301100000",
                    "NgayHenTra": "20250310170000",
                    "TrangThaiHoSo": "10",
                    "NgayKetThucXuLy": "20250308090000",
                    "DonViXuLy": f"000.00.{i % UNITS:02d}.H08",
                    "HoSoCoThanhPhanSoHoa": "1",
                    "DuocThanhToanTrucTuyen": "1",
                    "TaiLieuNop": [],
                    "DanhSachLePhi": [],
                }
                for i in range(BATCH)
            ],
        }
    )


def register_portal_world(port: int) -> None:
    """The units' codes (organ_ids) and the procedure as full-online since 2025."""
    units = [
        {
            "specversion": "1.0",
            "id": f"bench-unit-{n}",
            "source": "/registry/bench",
            "type": "vn.thidua.unit.upserted",
            "time": "2024-01-01T00:00:00+07:00",
            "data": {
                "unit_id": f"unit-{n}",
                "name": f"Đơn vị {n}",
                "tier": "province_agency",
                "organ_ids": [f"000.00.{n:02d}.H08"],
                "active": True,
            },
        }
        for n in range(UNITS)
    ]
    procedure = [
        {
            "MaTTHC": "1.001234",
            "MucDo": "4",
            "MaCoQuan": "000.00.00.H08",
            "NgayCapNhat": "20250101000000",
        }  # fmt: skip
    ]
    for path, token, body, media in (
        ("/v1/events", REGISTRY_TOKEN, units, "application/cloudevents-batch+json"),
        ("/v1/dvcqg/procedures", TOKEN, procedure, "application/json"),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": media}
        conn.request("POST", path, body=orjson.dumps(body), headers=headers)
        response = conn.getresponse()
        if response.status != 202:
            raise SystemExit(f"{path}: {response.status} {response.read()[:300]!r}")
        response.read()


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


def drive(
    port: int, seconds: float, clients: int, portal: bool = False
) -> tuple[int, list[float], int]:
    """Each client posts batches back to back on one keep-alive connection (``portal``: the
    DVCQG adapter's batches instead of CloudEvents)."""
    path = "/v1/dvcqg/dossiers" if portal else "/v1/events"
    media = "application/json" if portal else "application/cloudevents-batch+json"
    make_body = portal_body if portal else batch_body
    latencies: list[list[float]] = [[] for _ in range(clients)]
    accepted = [0] * clients
    failures = [0] * clients
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": media}
        number = 0
        while time.monotonic() < stop_at:
            body = make_body(n, number)
            number += 1
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
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
    add_option(parser)
    args = parser.parse_args()
    with bench_broker(args.bootstrap) as bootstrap:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        try:
            run(args, bootstrap, prefix)
        finally:
            delete_topics(bootstrap, prefix)


def run(args: argparse.Namespace, bootstrap: str, prefix: str) -> None:
    ensure_topics(bootstrap, prefix, 4)
    port = free_port()
    ingest = start_ingest(bootstrap, prefix, port, args.workers)
    try:
        drive(port, 1.5, args.clients)  # warm-up: connections, metadata, JIT-free caches
        cpu_before = process_tree_cpu(ingest.pid)
        accepted, latencies, failures = drive(port, args.seconds, args.clients)
        cpu = process_tree_cpu(ingest.pid) - cpu_before
        register_portal_world(port)
        drive(port, 1.5, args.clients, portal=True)  # warm-up: the registry and catalogue
        cpu_before = process_tree_cpu(ingest.pid)
        portal = drive(port, args.seconds, args.clients, portal=True)
        portal_cpu = process_tree_cpu(ingest.pid) - cpu_before
    finally:
        ingest.terminate()
        ingest.wait(timeout=30)
    rate = accepted / args.seconds
    quantiles = statistics.quantiles(latencies, n=100)
    raw = raw_producer_rate(bootstrap, prefix, max(accepted // 2, 50_000))
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
    portal_accepted, portal_latencies, portal_failures = portal
    portal_rate = portal_accepted / args.seconds
    portal_quantiles = statistics.quantiles(portal_latencies, n=100)
    print(
        f"dvcqg   : {portal_rate:,.0f} dossiers/s accepted through POST /v1/dvcqg/dossiers "
        f"({portal_accepted:,} in {args.seconds:.0f} s, p50 {portal_quantiles[49] * 1000:.1f} ms, "
        f"p99 {portal_quantiles[98] * 1000:.1f} ms, "
        f"{portal_cpu / max(portal_accepted, 1) * 1e6:.1f} µs CPU each, "
        f"{portal_failures} non-202)"
    )
    print(f"dvcqg/ce: {portal_rate / max(rate, 1):.0%} of the CloudEvents rate (goal ≥ 50 %)")


if __name__ == "__main__":
    main()
