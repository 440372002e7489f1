"""Live rankings over Server-Sent Events.

The hub hears which periods were recomputed (from the cache thread) and wakes the streams of
those periods on the event loop; each stream then sends its ranking, read from the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable

from services.api import metrics

log = logging.getLogger(__name__)
KEEPALIVE_SECONDS = 15.0
_CLOSE = "\x00close"


class RankingsHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[str]] = set()
        self.reserved = 0  # streams admitted (counted from admission to the response's end)

    def admit(self, limit: int) -> bool:
        """Reserve one of ``limit`` stream places (event loop only); :meth:`release` it."""
        if self.reserved >= limit:
            return False
        self.reserved += 1
        return True

    def release(self) -> None:
        self.reserved -= 1

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, period_id: str) -> None:
        """Thread-safe: a period was recomputed."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._fan_out, period_id)
        except RuntimeError:  # loop closing
            pass

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(_CLOSE)

    def _fan_out(self, period_id: str) -> None:
        for queue in self._queues:
            queue.put_nowait(period_id)

    async def stream(
        self,
        period_id: str,
        render: Callable[[], Awaitable[bytes]],
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> AsyncGenerator[bytes, None]:
        """The SSE body: the ranking now, then again whenever its period was recomputed."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        metrics.SSE_CLIENTS.inc()
        sent = 0
        try:
            yield b"retry: 3000\n\n"
            last = await render()
            yield _event("rankings", sent, last)
            metrics.SSE_EVENTS.inc()
            while True:
                try:
                    changed = await asyncio.wait_for(queue.get(), keepalive)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if changed == _CLOSE:
                    return
                if changed != period_id:
                    continue
                body = await render()
                if body == last:
                    continue
                last, sent = body, sent + 1
                yield _event("rankings", sent, body)
                metrics.SSE_EVENTS.inc()
        finally:
            self._queues.discard(queue)
            metrics.SSE_CLIENTS.dec()


def _event(name: str, event_id: int, data: bytes) -> bytes:
    # orjson never emits raw newlines, so the payload is one `data:` line.
    return (
        b"event: "
        + name.encode()
        + b"\nid: "
        + str(event_id).encode()
        + b"\ndata: "
        + data
        + b"\n\n"
    )
