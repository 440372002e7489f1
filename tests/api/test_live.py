"""Reads come from memory; the writer's refresh recomputes them and pushes SSE events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
from clickhouse_connect.driver.client import Client

from services.api.cache import SwrCache
from services.api.schemas import Rankings
from services.api.sse import RankingsHub
from tests.api import data
from tests.api.conftest import LiveServer
from tests.api.sse_client import events

PARAMS = {"tier": "district", "period": "2023-Q2"}


def _ranks(body: dict) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    return [(i["rank"], i["unit_id"]) for i in body["items"]]


def test_sse_pushes_the_ranking_after_a_refresh(live: LiveServer, ch: Client) -> None:
    with httpx.Client(base_url=live.url, timeout=15) as http:
        before = http.get("/v1/rankings", params=PARAMS).json()
        assert _ranks(before) == [(1, "D1"), (1, "D2")]  # nothing counted in 2023-Q2: a tie

        with http.stream("GET", "/v1/stream/rankings", params=PARAMS) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = events(stream)
            name, payload = next(received)
            assert name == "rankings"
            first = Rankings.model_validate_json(payload)
            assert first.period == "2023-Q2" and len(first.items) == 2

            # new counters land (as the writer would insert them) …
            data.insert_counters(
                ch,
                [
                    ("D2", "rating", date(2023, 5, 2), 10.0),
                    ("D2", "rating_satisfied", date(2023, 5, 2), 10.0),
                ],
            )
            # … reads keep answering from memory, unchanged, until the writer says so
            assert _ranks(http.get("/v1/rankings", params=PARAMS).json()) == _ranks(before)
            live.app.state.on_refresh({"2023-Q2", "2023", "phase-2021-2025"})

            name, payload = next(received)
            assert name == "rankings"
            assert _ranks(json.loads(payload)) == [(1, "D2"), (2, "D1")]
        # the stream was closed by the client: the server lets go of it
        deadline = time.monotonic() + 10
        while "thidua_api_sse_clients 0.0" not in http.get("/metrics").text:
            assert time.monotonic() < deadline, "SSE stream not released after disconnect"
            time.sleep(0.1)
        after = http.get("/v1/rankings", params=PARAMS).json()
        assert _ranks(after) == [(1, "D2"), (2, "D1")]
        assert after["generated_at"] >= before["generated_at"]
        metrics = http.get("/metrics").text
        assert 'thidua_api_cache_requests_total{cache="periods",result="hit"}' in metrics


def test_cache_serves_stale_while_one_reload_runs() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def loader() -> int:
        calls.append(1)
        if len(calls) > 1:
            gate.wait(5)
        return len(calls)

    async def scenario() -> None:
        pool = ThreadPoolExecutor(1)
        cache: SwrCache[str, int] = SwrCache("test", pool)
        assert await cache.get("k", loader, ttl=0.05) == 1  # cold: waits once
        await asyncio.sleep(0.1)  # expired
        started = time.perf_counter()
        values = [await cache.get("k", loader, ttl=0.05) for _ in range(20)]
        assert values == [1] * 20 and time.perf_counter() - started < 0.5  # never waits
        gate.set()
        await asyncio.sleep(0.2)
        assert await cache.get("k", loader, ttl=10) == 2 and len(calls) == 2  # one reload
        pool.shutdown()

    asyncio.run(scenario())


def test_a_refresh_during_a_load_loads_again() -> None:
    """Data that changed while a load ran may be missing from it: reload once more."""
    gate = threading.Event()
    calls: list[int] = []

    def loader() -> int:
        calls.append(1)
        if len(calls) == 1:
            gate.wait(5)
        return len(calls)

    pool = ThreadPoolExecutor(1)
    cache: SwrCache[str, int] = SwrCache("test", pool)
    first = cache.load("k", loader)
    assert cache.reload("k") is True  # the writer's refresh arrives mid-load
    gate.set()
    assert first.result(5) == 1
    deadline = time.monotonic() + 5
    while cache.peek("k") != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pool.shutdown()


def test_hub_keeps_alive_and_wakes_only_its_period() -> None:
    async def scenario() -> list[bytes]:
        hub = RankingsHub()
        hub.bind(asyncio.get_running_loop())
        renders = iter([b'{"n":1}', b'{"n":2}'])

        async def render() -> bytes:
            return next(renders)

        stream = hub.stream("2025", render, keepalive=0.05)
        chunks = [await anext(stream), await anext(stream), await anext(stream)]
        hub.publish("2024")  # another period: ignored
        hub.publish("2025")
        chunks.append(await anext(stream))
        await stream.aclose()
        return chunks

    retry, first, keepalive, second = asyncio.run(scenario())
    assert retry == b"retry: 3000\n\n"
    assert first == b'event: rankings\nid: 0\ndata: {"n":1}\n\n'
    assert keepalive == b": keep-alive\n\n"
    assert second == b'event: rankings\nid: 1\ndata: {"n":2}\n\n'


def test_server_mode_watches_what_a_remote_writer_materializes(ch: Client) -> None:
    """With the writer in another process, the api notices its materialized results."""
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from thidua.contracts.periods import parse_period
    from thidua.contracts.plans import default_plans
    from thidua.settings import ApiSettings
    from thidua.store.kpi import materialize

    settings = ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False)
    app = create_app(settings, ch, warm=False, watch=True)
    app.state.watcher.interval = 0.1
    params = {"tier": "district", "period": "2022-Q2"}
    with TestClient(app) as api:
        assert _ranks(api.get("/v1/rankings", params=params).json()) == [(1, "D1"), (1, "D2")]
        time.sleep(0.3)  # the watcher's first look records where things stand
        data.insert_counters(
            ch,
            [
                ("D1", "rating", date(2022, 5, 2), 3.0),
                ("D1", "rating_satisfied", date(2022, 5, 2), 3.0),
            ],
        )
        # what the writer process does after its flush
        materialize(ch, default_plans(), [parse_period("2022-Q2")], datetime.now(UTC))
        deadline = time.monotonic() + 10
        while _ranks(api.get("/v1/rankings", params=params).json()) != [(1, "D1"), (2, "D2")]:
            assert time.monotonic() < deadline, "the api did not notice the new results"
            time.sleep(0.1)


def test_a_value_put_replaces_the_cached_one_without_a_load() -> None:
    """The embedded writer hands over what it materialized: no second computation."""
    calls: list[int] = []

    def loader() -> int:
        calls.append(1)
        return 10 * len(calls)

    pool = ThreadPoolExecutor(1)
    loaded: list[tuple[str, int]] = []
    cache: SwrCache[str, int] = SwrCache("test", pool, on_loaded=lambda k, v: loaded.append((k, v)))
    assert cache.put("k", 5) is False, "a key never loaded is not cached by put"
    assert cache.load("k", loader).result(5) == 10
    assert cache.put("k", 99) is True
    assert cache.peek("k") == 99 and cache.fresh("k") == 99
    assert calls == [1]
    assert loaded[-1] == ("k", 99)
    pool.shutdown()


def test_accepted_results_are_not_computed_again_on_refresh() -> None:
    """KpiService.accept takes the writer's scorecards; the on_refresh that follows reloads
    only the periods it did not get."""
    from services.api.service import KpiService
    from thidua.contracts.plans import default_plans

    computed: list[str] = []

    def compute(client: object, config: object, period: Any) -> list[Any]:
        computed.append(period.id)
        return []

    service = KpiService(None, default_plans(), compute=compute)  # type: ignore[arg-type]
    for period_id in ("2025", "2025-Q1"):
        service.warm([period_id])[0].result(5)
    computed.clear()
    service.accept({"2025": [], "2024": []})  # 2024 was never read: not cached
    assert set(service.periods.keys()) == {"2025", "2025-Q1"}
    service.on_refresh({"2025", "2025-Q1", "2024"})
    deadline = time.monotonic() + 5
    while computed != ["2025-Q1"]:
        assert time.monotonic() < deadline, computed
        time.sleep(0.01)
    service.on_refresh({"2025"})  # a later refresh without results computes again
    while computed != ["2025-Q1", "2025"]:
        assert time.monotonic() < deadline, computed
        time.sleep(0.01)
    service.close()


def test_readers_cannot_push_out_warmed_keys_nor_queue_unbounded_loads() -> None:
    """Issue 14.5: many distinct keys asked by readers evict each other, never a warmed key,
    and beyond MAX_DEMAND_LOADS loading at once readers get CacheBusy (503)."""
    from services.api.cache import MAX_DEMAND_LOADS, CacheBusy

    gate = threading.Event()

    async def scenario() -> None:
        pool = ThreadPoolExecutor(1)
        cache: SwrCache[str, str] = SwrCache("test", pool, max_entries=3)
        cache.warm("2025", lambda: "warm").result(5)
        for n in range(10):
            assert await cache.get(f"phase-20{n:02d}", lambda n=n: f"v{n}") == f"v{n}"
        assert cache.peek("2025") == "warm" and len(cache.keys()) == 3

        def slow() -> str:
            gate.wait(5)
            return "slow"

        waiting = [
            asyncio.ensure_future(cache.get(f"busy-{n}", slow)) for n in range(MAX_DEMAND_LOADS)
        ]
        await asyncio.sleep(0.05)
        try:
            await cache.get("one-too-many", slow)
            raise AssertionError("expected CacheBusy")
        except CacheBusy:
            pass
        gate.set()
        assert await asyncio.gather(*waiting) == ["slow"] * MAX_DEMAND_LOADS
        assert cache.peek("2025") == "warm"
        pool.shutdown()

    asyncio.run(scenario())
