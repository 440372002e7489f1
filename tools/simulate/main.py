"""``thidua simulate``: feed a simulated Tuyên Quang province to ingest.

Backfill first (stock history, then every day from ``since`` to ``until``), then, with
``live``, today's events at ``rate`` per second until interrupted.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import yaml

from thidua.contracts.periods import LOCAL_TZ
from tools.simulate.dvcqg import PortalConverter
from tools.simulate.feeder import Credential, Feeder, feed, print_progress
from tools.simulate.generator import DEFAULT_SEED, DEFAULT_START, generate
from tools.simulate.live import live_events
from tools.simulate.registry import load_registry, write_registry

log = logging.getLogger(__name__)
DEFAULT_INGEST_URL = "http://127.0.0.1:8001"
# The development token of config/ingest-sources.example.yaml's `simulator` source (every type).
DEV_SIMULATOR_TOKEN = "thidua-dev-simulator-token"


def credentials_from_file(path: Path) -> list[Credential]:
    """Dev credentials from a YAML list under ``sources`` (ingest's format) or
    ``credentials``: each entry's token is ``token``/``dev_token``, or the variable named by
    ``token_env``; ``types`` are its fnmatch globs (default everything)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("credentials") or raw.get("sources") or []
    creds: list[Credential] = []
    for entry in entries:
        token = entry.get("token") or entry.get("dev_token")
        if not token and entry.get("token_env"):
            token = os.environ.get(str(entry["token_env"]))
        if token:
            creds.append(Credential(str(token), tuple(entry.get("types") or ("*",))))
    if not creds:
        raise ValueError(f"{path}: no usable token (token, dev_token or a set token_env)")
    return creds


def resolve_credentials(token: str | None, tokens_file: Path | None) -> list[Credential]:
    if tokens_file is not None:
        return credentials_from_file(tokens_file)
    return [Credential(token or DEV_SIMULATOR_TOKEN)]


def _parse_moment(text: str | None, default: datetime | date | None) -> datetime | date | None:
    if text is None or text == "now":
        return default
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def run(
    ingest_url: str = DEFAULT_INGEST_URL,
    token: str | None = None,
    tokens_file: Path | None = None,
    seed: int = DEFAULT_SEED,
    since: str | None = None,
    until: str | None = None,
    scale: float = 0.5,
    batch_size: int = 500,
    live: bool = False,
    rate: float = 20.0,
    registry_file: Path | None = None,
    write_registry_to: Path | None = None,
    dry_run: bool = False,
    out: Path | None = None,
    dvc_format: str = "cloudevents",
) -> None:
    """Everything has a default, so ``run()`` alone backfills 2025 → now at scale 0.5.
    ``dvc_format="dvcqg"``: procedures and dossiers as the national portal sends them."""
    logging.basicConfig(level=os.environ.get("THIDUA_LOG_LEVEL", "INFO"))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the progress line says it all
    if write_registry_to is not None:
        path = write_registry(write_registry_to)
        print(f"registry written to {path}", file=sys.stderr)
        return
    token = token or os.environ.get("THIDUA_SIMULATE_TOKEN")
    units = load_registry(registry_file) if registry_file else None
    start = _parse_moment(since, DEFAULT_START) or DEFAULT_START
    end = _parse_moment(until, None)
    events = generate(seed, start, end, scale, units)
    if dry_run or out is not None:
        _dump(events, out)
        return
    creds = resolve_credentials(token, tokens_file)
    portal = _portal(dvc_format)
    stats = feed(
        events, ingest_url, creds, batch_size=batch_size, progress=print_progress, portal=portal
    )
    print_progress.done(f"backfill done: {stats.line()}")
    if live:
        run_live(ingest_url, creds, seed, rate, units, portal=portal)


def _portal(dvc_format: str) -> PortalConverter | None:
    if dvc_format not in ("cloudevents", "dvcqg"):
        raise ValueError(f"unknown DVC format {dvc_format!r}: cloudevents or dvcqg")
    return PortalConverter() if dvc_format == "dvcqg" else None


def run_live(
    ingest_url: str,
    creds: list[Credential],
    seed: int,
    rate: float,
    units: Any = None,
    max_seconds: float | None = None,
    portal: PortalConverter | None = None,
) -> int:
    """Send today's events at ``rate``/s (one batch a second) until interrupted or
    ``max_seconds``; returns the number sent."""
    stream = live_events(seed, units)
    started = time.monotonic()
    carry = 0.0
    with Feeder(
        ingest_url,
        creds,
        batch_size=max(1, int(rate) + 1),
        progress=print_progress,
        portal=portal,
    ) as feeder:
        try:
            while max_seconds is None or time.monotonic() - started < max_seconds:
                tick = time.monotonic()
                carry += rate
                for event in islice(stream, int(carry)):
                    feeder.add(event)
                carry -= int(carry)
                feeder.flush()
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        except KeyboardInterrupt:
            feeder.flush()
        print_progress.done(f"live stopped: {feeder.stats.line()}")
        return feeder.stats.events


def _dump(events: Any, out: Path | None) -> None:
    counts: Counter[str] = Counter()
    sink = out.open("wb") if out else None
    try:
        for event in events:
            counts[event["type"]] += 1
            if sink:
                sink.write(orjson.dumps(event) + b"\n")
    finally:
        if sink:
            sink.close()
    for kind, count in sorted(counts.items()):
        print(f"{count:>9,}  {kind}", file=sys.stderr)
    print(
        f"{sum(counts.values()):>9,}  events" + (f" written to {out}" if out else ""),
        file=sys.stderr,
    )
