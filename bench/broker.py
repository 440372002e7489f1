"""The Kafka broker a benchmark runs on: its own by default, as the tests start theirs
(``tests/conftest.py``), but on another port and folder, so a bench never loads the test
suite's broker nor meets its topics (nor takes the ports ``tests/cluster`` looks for, from
39192 up). Reused when already running, else started here and stopped at the end;
``--bootstrap`` names a running broker instead, left as it is."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.local import kafka_broker

PORT = int(os.environ.get("THIDUA_BENCH_KAFKA_PORT", "38092"))
DATA_DIR = Path(os.environ.get("THIDUA_BENCH_KAFKA_DIR", "/tmp/thidua-bench-kafka"))


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help=f"use this running broker (default: the bench's own on 127.0.0.1:{PORT}, "
        f"data in {DATA_DIR}, started if needed and then stopped)",
    )


@contextmanager
def bench_broker(bootstrap: str | None) -> Iterator[str]:
    """The bootstrap servers to use, announced in one line on stderr."""
    if bootstrap:
        _say(f"broker: {bootstrap} (--bootstrap: an existing broker, left running)")
        yield bootstrap
        return
    cfg = kafka_broker.BrokerConfig(data_dir=DATA_DIR, port=PORT, controller_port=PORT + 1)
    kafka_broker.fetch()  # silent once the jars are cached; the first time says what it fetches
    already = kafka_broker.running_pid(cfg) is not None
    try:
        kafka_broker.start(cfg, progress=lambda _line: None)
    except RuntimeError as exc:
        raise SystemExit(f"the bench's broker did not start: {exc} (or pass --bootstrap)") from exc
    how = "already running, reused" if already else "started for this run, stopped at its end"
    _say(f"broker: {cfg.bootstrap} (the bench's own, {how}; data in {DATA_DIR})")
    try:
        yield cfg.bootstrap
    finally:
        if not already:
            kafka_broker.stop(cfg)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
