"""The in-flight limit answers 429 before reading a byte (pure ASGI, no broker)."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from services.ingest.app import LoadShedding


async def _slow_app(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(0.2)
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_requests_over_the_inflight_limit_get_429() -> None:
    async def scenario() -> list[int]:
        app = LoadShedding(_slow_app, max_inflight=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            answers = await asyncio.gather(
                *(client.post("/v1/events", content=b"[]") for _ in range(4))
            )
            health = await client.get("/healthz")
        return sorted([a.status_code for a in answers]) + [health.status_code]

    assert asyncio.run(scenario()) == [202, 202, 429, 429, 202]
