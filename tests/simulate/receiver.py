"""A tiny stand-in for ingest's POST /v1/events, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response


@dataclass
class Received:
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # scripted statuses, then 202

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for batch in self.batches for e in batch]


def _app(state: Received) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/events")
    async def events(request: Request) -> Response:
        if state.answers:
            status = state.answers.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return Response(b'{"detail":"scripted"}', status_code=status, headers=headers)
        batch = orjson.loads(await request.body())
        state.batches.append(batch)
        state.tokens.append(request.headers.get("authorization", ""))
        state.content_types.append(request.headers.get("content-type", ""))
        return Response(orjson.dumps({"accepted": len(batch)}), status_code=202)

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def receiver() -> Iterator[tuple[str, Received]]:
    state = Received()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=5)
