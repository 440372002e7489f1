"""Rankings under load: ``python -m bench.api.run`` (bounded: ~15 s of load by default).

Starts the api (own process, own chDB with 1,000 synthetic units), then 200 concurrent
keep-alive clients hit ``/v1/rankings`` for every tier and a few periods, in two phases:
*paced* — together 2,000 requests/s, latency counted from when each request was due (no
coordinated omission); *saturated* — each client sends again as soon as it has its answer
(max requests/s; latency there is only queueing: clients / throughput). Prints p50/p99 and
requests/s of both. Goal on the dev machine: p99 < 50 ms and ≥ 2,000 requests/s.

No Kafka: the api runs without its writer (``writer_embedded=False``) and reads what
``bench.api.province`` wrote into its chDB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TIERS = ("province_agency", "district", "commune", "enterprise")
PERIODS = ("2025", "2025-Q4", "rolling-30d", "phase-2021-2025")
ROOT = Path(__file__).resolve().parents[2]


# --mix dashboard: beside the rankings, one read in nine is what a dashboard or a portal also
# asks: units × criteria with rank changes, scorecards (ETag), awards, a page of alerts, a
# criterion's trend and a drill-down (a ClickHouse query each).
def dashboard_reads(units: int) -> list[str]:
    from bench.api.province import tiers_for

    tiers = [t.value for t in tiers_for(units)]
    agency = f"pro-{tiers.index('province_agency') + 1:04d}"
    commune = f"com-{tiers.index('commune') + 1:04d}"
    return [
        "/v1/scorecards?tier=province_agency&period=2025",
        "/v1/scorecards?tier=commune&period=2025-Q4",
        f"/v1/units/{agency}/scorecard?period=2025",
        f"/v1/units/{commune}/scorecard?period=rolling-30d",
        "/v1/awards?period=2025",
        "/v1/alerts?state=firing&tier=commune&limit=100",
        f"/v1/units/{agency}/trend?criterion=C03",
        f"/v1/units/{agency}/evidence?period=2025&criterion=C03&page_size=50",
    ]


def paths() -> list[str]:
    rankings = [f"/v1/rankings?tier={t}&period={p}" for t in TIERS for p in PERIODS]
    if os.environ.get("THIDUA_BENCH_MIX") == "dashboard":
        # rankings stay the bulk (portals poll them; dashboards follow them by SSE), the rest
        # is what a click opens: one request in nine
        return rankings * 4 + dashboard_reads(int(os.environ.get("THIDUA_BENCH_UNITS", "1000")))
    return rankings


async def _client(
    port: int,
    targets: list[str],
    offset: int,
    stop_at: float,
    interval: float | None,
    out: list[float],
    errors: list[int],
) -> None:
    """One keep-alive connection. ``interval`` None: closed loop (next request as soon as the
    answer is in). Otherwise one request every ``interval`` seconds, latency counted from
    when it was due, so a slow answer also charges the requests it delayed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode()
        for path in targets
    ]
    i = offset
    due = time.perf_counter() + (interval or 0) * (offset % 1000) / 1000
    try:
        while True:
            if interval is not None:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                started = due
                due += interval
            else:
                started = time.perf_counter()
            if started >= stop_at:
                break
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            out.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def _load(
    port: int,
    clients: int,
    seconds: float,
    rate: float | None,
    offset: int,
    queue: mp.Queue,  # type: ignore[type-arg]
) -> None:
    async def main() -> tuple[list[float], list[int]]:
        out: list[float] = []
        errors: list[int] = []
        stop_at = time.perf_counter() + seconds
        interval = clients / rate if rate else None
        await asyncio.gather(
            *(
                _client(port, paths(), offset + k, stop_at, interval, out, errors)
                for k in range(clients)
            )
        )
        return out, errors

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(main()))


def _phase(
    port: int, clients: int, seconds: float, rate: float | None, processes: int
) -> tuple[list[float], list[int]]:
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    share = [clients // processes] * processes
    share[0] += clients - sum(share)
    workers = [
        mp.Process(
            target=_load,
            args=(port, n, seconds, rate * n / clients if rate else None, k * 1000 + 7, queue),
        )
        for k, n in enumerate(share)
    ]
    for w in workers:
        w.start()
    latencies: list[float] = []
    errors: list[int] = []
    for _ in workers:
        out, errs = queue.get(timeout=seconds + 60)
        latencies += out
        errors += errs
    for w in workers:
        w.join(10)
    return latencies, errors


def _report(
    name: str, latencies: list[float], errors: list[int], seconds: float
) -> tuple[float, float]:
    if not latencies:
        print(f"{name}: no request completed")
        return float("inf"), 0.0
    rps = len(latencies) / seconds
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"{name}: {len(latencies)} requests in {seconds:.0f} s — p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, {rps:,.0f} requests/s, errors {len(errors)}"
    )
    return p99, rps


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for path in ["/readyz", *paths()]:  # the first read of each period waits its load
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                    if r.status != 200:
                        raise OSError(r.status)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the api did not become ready")


def _loads_done(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('thidua_api_cache_load_seconds_count{cache="periods"}'):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def _wait_warm(port: int, quiet: float = 2.0, timeout: float = 120.0) -> float:
    """Wait until the api has loaded every period it warms at start (no new load for
    ``quiet`` seconds), so the measurement sees steady state."""
    deadline = time.monotonic() + timeout
    last, since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        done = _loads_done(port)
        if done != last:
            last, since = done, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return done
        time.sleep(0.2)
    return last


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase (two phases)")
    parser.add_argument("--rate", type=float, default=2000.0, help="paced phase: requests/s")
    parser.add_argument("--processes", type=int, default=1, help="load generator processes")
    parser.add_argument(
        "--mix",
        choices=("rankings", "dashboard"),
        default="rankings",
        help="rankings only, or with the dashboard's other reads (one in nine)",
    )
    args = parser.parse_args()
    os.environ["THIDUA_BENCH_MIX"] = args.mix  # read by paths() in the load processes
    os.environ["THIDUA_BENCH_UNITS"] = str(args.units)

    print("broker: none (the api reads its own chDB; no writer, no Kafka)", file=sys.stderr)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="thidua-bench-api-") as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.api.serve", "--dsn", f"chdb://{tmp}/chdb",
             "--port", str(port), "--units", str(args.units)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        try:
            started = time.monotonic()
            _wait_ready(port)
            periods = _wait_warm(port)
            print(
                f"api ready with {args.units} units in {time.monotonic() - started:.1f}s "
                f"({periods:.0f} periods computed and cached)"
            )
            print(
                f"{args.clients} concurrent keep-alive clients, {len(paths())} reads "
                f"round-robin ({args.mix})"
            )
            paced = _phase(port, args.clients, args.seconds, args.rate, args.processes)
            saturated = _phase(port, args.clients, args.seconds, None, args.processes)
        finally:
            server.terminate()
            server.wait(15)

    p99, rps = _report(f"paced at {args.rate:,.0f} requests/s", *paced, args.seconds)
    _, max_rps = _report("saturated (closed loop)", *saturated, args.seconds)
    goal = p99 < 50 and rps >= 0.98 * args.rate and not paced[1] and not saturated[1]
    goal = goal and max_rps >= 2000
    print(
        f"goal (p99 < 50 ms at {args.rate:,.0f} requests/s, >= 2,000 requests/s): "
        f"{'met' if goal else 'NOT met'}"
    )
    return 0 if goal else 2


if __name__ == "__main__":
    sys.exit(main())
