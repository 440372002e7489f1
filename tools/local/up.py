"""`thidua up`: the whole stack on one machine, on the embedded defaults, fed a province.

Kafka (real broker, KRaft) → ingest → Faust scoring → api (with the chDB writer inside) and
notify; then the simulator posts a province's history and keeps sending today's events while
the terminal shows the live ranking. Ctrl-C stops everything and leaves nothing running.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

from thidua.contracts.periods import LOCAL_TZ
from thidua.settings import (
    ApiSettings,
    IngestSettings,
    NotifySettings,
    ScoringSettings,
    local_chdb_dsn,
    local_write_token_file,
)
from tools.local import kafka_broker
from tools.local.supervisor import Child, spawn, stop_all, thidua_argv, wait_ready

VAR = Path(os.environ.get("THIDUA_VAR_DIR", "var"))


def _say(message: str) -> None:
    print(message, flush=True)


def _children(kafka: kafka_broker.BrokerConfig) -> tuple[dict[str, str], list[Child]]:
    ingest, scoring, api, notify = (
        IngestSettings(),
        ScoringSettings(),
        ApiSettings(),
        NotifySettings(),
    )
    logs = VAR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        "THIDUA_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "THIDUA_CLICKHOUSE_DSN": os.environ.get("THIDUA_CLICKHOUSE_DSN", local_chdb_dsn()),
        "THIDUA_SCORING_DATA_DIR": str(VAR / "scoring"),
        "THIDUA_NOTIFY_API_URL": f"http://{api.api_host}:{api.api_port}",
    }
    if "THIDUA_API_WRITE_TOKENS" not in os.environ:
        env["THIDUA_API_WRITE_TOKENS"] = json.dumps([_local_write_token()])
    tokens = Path("config/ingest-sources.example.yaml")
    if "THIDUA_INGEST_TOKENS_FILE" not in os.environ and tokens.exists():
        env["THIDUA_INGEST_TOKENS_FILE"] = str(tokens.resolve())

    def url(host: str, port: int) -> str:
        return f"http://{host}:{port}/readyz"

    children = [
        # api first: in embedded mode it owns the chDB path and runs the migrations.
        Child(
            "api", thidua_argv("api"), url(api.api_host, api.api_port), log_file=logs / "api.log"
        ),
        Child(
            "ingest",
            thidua_argv("ingest"),
            url(ingest.ingest_host, ingest.ingest_port),
            log_file=logs / "ingest.log",
        ),
        Child(
            "scoring",
            thidua_argv("scoring"),
            url(scoring.scoring_host, scoring.scoring_port),
            log_file=logs / "scoring.log",
        ),
        Child(
            "notify",
            thidua_argv("notify"),
            url(notify.notify_host, notify.notify_port),
            log_file=logs / "notify.log",
        ),
    ]
    return env, children


def _local_write_token() -> str:
    """A fresh api write token for this run, kept (0600) where `thidua recompute` finds it."""
    token = secrets.token_urlsafe(24)
    path = local_write_token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token


def _write_token(env: dict[str, str]) -> str:
    if "THIDUA_API_WRITE_TOKENS" not in env:
        return "from $THIDUA_API_WRITE_TOKENS"
    return str(json.loads(env["THIDUA_API_WRITE_TOKENS"])[0])


def _show_rankings(api_base: str, stop: threading.Event, interval: float = 5.0) -> None:
    previous: dict[str, int] = {}
    period = str(datetime.now(LOCAL_TZ).year)
    while not stop.wait(interval):
        try:
            body = httpx.get(
                f"{api_base}/v1/rankings",
                params={"tier": "province_agency", "period": period},
                timeout=5.0,
            ).json()
        except (httpx.HTTPError, ValueError):
            continue
        items = body.get("items", [])[:5]
        if not items:
            continue
        stamp = datetime.now(LOCAL_TZ).strftime("%H:%M:%S")
        lines = [f"[{stamp}] Bảng xếp hạng {period} — Sở, ban, ngành (top 5):"]
        for item in items:
            before = previous.get(item["unit_id"])
            move = (
                ""
                if before is None or before == item["rank"]
                else (
                    f" ▲{before - item['rank']}"
                    if before > item["rank"]
                    else f" ▼{item['rank'] - before}"
                )
            )
            lines.append(f"  {item['rank']:>3}. {item['name'][:48]:<48} {item['score']:6.2f}{move}")
        previous = {i["unit_id"]: i["rank"] for i in body.get("items", [])}
        # On a terminal the simulator's progress line (stderr) is rewritten in place: clear it
        # first, or the ranking would start at its end.
        clear = "\r\x1b[K" if sys.stdout.isatty() and sys.stderr.isatty() else ""
        _say(clear + "\n".join(lines))


def run(simulate: bool = True) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    kafka_port = int(os.environ.get("THIDUA_LOCAL_KAFKA_PORT", "9092"))
    kafka = kafka_broker.BrokerConfig(
        data_dir=VAR / "kafka", port=kafka_port, controller_port=kafka_port + 1
    )
    children: list[Child] = []
    stop = threading.Event()
    broker_started = False
    failed = False

    def _terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        _say("▶ 1/4 Kafka")
        kafka_broker.start(kafka, progress=_say)
        broker_started = True
        env, children = _children(kafka)
        from thidua.kafka_admin import ensure_topics

        ensure_topics(
            kafka.bootstrap, IngestSettings().topic_prefix, IngestSettings().topic_partitions
        )
        _say("▶ 2/4 Services")
        for child in children:
            spawn(child, env)
            wait_ready(child, timeout=120.0, progress=_say)
        api, ingest = ApiSettings(), IngestSettings()
        api_base = f"http://{api.api_host}:{api.api_port}"
        ingest_base = f"http://{ingest.ingest_host}:{ingest.ingest_port}"
        _say(
            "\n".join(
                [
                    "",
                    "Thi đua CĐS is running:",
                    f"  Dashboard      {api_base}/",
                    f"  API (OpenAPI)  {api_base}/docs",
                    f"  Ingest         {ingest_base}/v1/events",
                    f"  Write token    {_write_token(env)}  (silences, recompute; also in "
                    f"{local_write_token_file()})",
                    f"  Metrics        {api_base}/metrics  {ingest_base}/metrics",
                    f"  Logs           {VAR / 'logs'}",
                    "Ctrl-C stops everything.",
                    "",
                ]
            )
        )
        shower = threading.Thread(target=_show_rankings, args=(api_base, stop), daemon=True)
        shower.start()
        if simulate:
            _say("▶ 3/4 Simulated Tuyên Quang: 2025 → today, then live events")
            scale = os.environ.get("THIDUA_SIMULATE_SCALE", "0.5")
            feeder = Child(
                "simulate",
                thidua_argv("simulate", "--ingest-url", ingest_base, "--scale", scale, "--live"),
                ready_url=None,
            )
            children.append(spawn(feeder, env))
        _say("▶ 4/4 Live. Ctrl-C to stop.")
        while True:
            for child in children:
                assert child.process is not None
                if child.process.poll() is not None and child.name != "simulate":
                    raise RuntimeError(f"{child.name} stopped unexpectedly; see {child.log_file}")
            time.sleep(1.0)
    except KeyboardInterrupt:
        _say("\nStopping …")
    except RuntimeError as exc:
        _say(f"error: {exc}")
        failed = True
    finally:
        stop.set()
        stop_all(children)
        if broker_started:
            kafka_broker.stop(kafka)
        _say("Stopped: no process left running.")
    if failed:
        raise SystemExit(1)
