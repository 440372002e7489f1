"""A whole stack for one test module: ingest, a Faust worker and the api (with the chDB writer
inside) as real processes on the session's Kafka broker, with their own topic prefix."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.kafka_cleanup import delete_topics
from tools.local.supervisor import Child, spawn, stop_all, thidua_argv, wait_ready

DEV_TOKEN_FILE = Path(__file__).resolve().parents[2] / "config" / "ingest-sources.example.yaml"
# The api's writes (POST /v1/recompute, silences) always need a write token (SPEC §7.3).
WRITE_TOKEN = "e2e-write-token-0123456789abcdef"
WRITE = {"authorization": f"Bearer {WRITE_TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A free port whose next one is free too (a local broker's controller takes port + 1)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


@dataclass
class Stack:
    env: dict[str, str]
    ingest_url: str
    api_url: str
    scoring_url: str
    children: list[Child] = field(default_factory=list)

    def start(self) -> None:
        for child in self.children:
            spawn(child, self.env)
            wait_ready(child, timeout=120.0, progress=lambda _m: None)


@contextmanager
def running_stack(
    bootstrap: str,
    workdir: Path,
    workers: int = 1,
    start: bool = True,
    env: dict[str, str] | None = None,
    keep_topics: bool = False,
) -> Iterator[Stack]:
    """The processes, started (or, with ``start=False``, ready for ``stack.start()``);
    ``env`` overrides the settings (e.g. another topic generation). Its topics (and its
    scoring app's) are deleted at the end unless ``keep_topics``."""
    tag = uuid.uuid4().hex[:8]
    ingest_port, api_port = free_port(), free_port()
    env = {
        "THIDUA_KAFKA_BOOTSTRAP": bootstrap,
        "THIDUA_TOPIC_PREFIX": f"e2e{tag}.",
        "THIDUA_CLICKHOUSE_DSN": f"chdb://{workdir / 'chdb'}",
        "THIDUA_INGEST_PORT": str(ingest_port),
        "THIDUA_API_PORT": str(api_port),
        "THIDUA_SCORING_APP_ID": f"e2e-scoring-{tag}",
        "THIDUA_WRITER_GROUP": f"e2e-writer-{tag}",
        "THIDUA_WRITER_BATCH_SECONDS": "0.2",
        "THIDUA_INGEST_TOKENS_FILE": str(DEV_TOKEN_FILE),
        "THIDUA_API_WRITE_TOKENS": f'["{WRITE_TOKEN}"]',
        "THIDUA_LOG_LEVEL": "INFO",
    } | (env or {})
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        env,
        f"http://127.0.0.1:{ingest_port}",
        f"http://127.0.0.1:{api_port}",
        "",
    )
    stack.children.append(
        Child("api", thidua_argv("api"), f"{stack.api_url}/readyz", log_file=logs / "api.log")
    )
    stack.children.append(
        Child(
            "ingest",
            thidua_argv("ingest"),
            f"{stack.ingest_url}/readyz",
            log_file=logs / "ingest.log",
        )
    )
    for n in range(workers):
        port = free_port()
        stack.children.append(
            Child(
                f"scoring-{n}",
                thidua_argv("scoring"),
                f"http://127.0.0.1:{port}/readyz",
                env={
                    "THIDUA_SCORING_PORT": str(port),
                    "THIDUA_SCORING_DATA_DIR": str(workdir / f"w{n}"),
                },
                log_file=logs / f"scoring-{n}.log",
            )
        )
        stack.scoring_url = stack.scoring_url or f"http://127.0.0.1:{port}"
    try:
        if start:
            stack.start()
        yield stack
    finally:
        stop_all(stack.children)
        if not keep_topics:
            delete_topics(bootstrap, env["THIDUA_TOPIC_PREFIX"], env["THIDUA_SCORING_APP_ID"])
