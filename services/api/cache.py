"""Stale-while-revalidate cache: reads never wait on ClickHouse once a key has been loaded.

A key is loaded once (the first reader waits for it; concurrent readers share the load). After
that a reader always gets the value in memory at once; when the value is stale (invalidated or
past its TTL) the reader also triggers one background reload and the next readers see the new
value when it lands. Loads run on one worker thread, because chDB calls are serialized anyway.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.api import metrics

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
# Keys first asked for by readers (not warmed) loading at once: beyond, readers get CacheBusy,
# so that a flood of distinct keys cannot queue minutes of work on the one ClickHouse thread.
MAX_DEMAND_LOADS = 8


class CacheBusy(RuntimeError):
    """Too many keys are loading for readers already: retry later (503)."""


@dataclass
class _Entry(Generic[V]):
    value: V
    loaded_at: float
    ttl: float | None
    stale: bool = False

    def expired(self, now: float) -> bool:
        return self.stale or (self.ttl is not None and now - self.loaded_at > self.ttl)


_FREEZE_EVERY = 1.0  # seconds
_last_freeze = 0.0


def _freeze_long_lived() -> None:
    """Move what is alive now out of the cyclic GC's reach (``gc.freeze``).

    A thousand units × 32 periods are hundreds of thousands of long-lived objects without
    cycles (freed by reference counting when a view is replaced); a full GC pass walks them all
    with the GIL held, stalling every request, and reloads trigger such passes every few seconds.
    Rate-limited, and after a young-generation pass, so that little cyclic garbage that is
    alive at that instant is frozen with them."""
    global _last_freeze
    now = time.monotonic()
    if now - _last_freeze >= _FREEZE_EVERY:
        _last_freeze = now
        gc.collect(1)
        gc.freeze()


class SwrCache(Generic[K, V]):
    def __init__(
        self,
        name: str,
        pool: ThreadPoolExecutor,
        max_entries: int = 256,
        on_loaded: Callable[[K, V], None] | None = None,
    ) -> None:
        self._name = name
        self._pool = pool
        self._max = max_entries
        self._on_loaded = on_loaded
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._loaders: dict[K, tuple[Callable[[], V], float | None]] = {}
        self._inflight: dict[K, Future[V]] = {}
        self._again: set[K] = set()  # reload asked while a load ran: its data may predate the ask
        # Keys loaded only because a reader asked (not warmed nor refreshed): evicted first, so
        # that readers asking for many distinct keys never push out the warmed ones.
        self._on_demand: set[K] = set()
        self._guard = threading.Lock()

    async def get(self, key: K, loader: Callable[[], V], ttl: float | None = None) -> V:
        entry = self._entries.get(key)
        if entry is None:
            metrics.CACHE_REQUESTS.labels(self._name, "miss").inc()
            with self._guard:
                if key not in self._inflight and key not in self._loaders:
                    demand = sum(1 for k in self._inflight if k in self._on_demand)
                    if demand >= MAX_DEMAND_LOADS:
                        raise CacheBusy(f"{demand} {self._name} are loading; retry later")
                    self._on_demand.add(key)
            return await asyncio.wrap_future(self.load(key, loader, ttl))
        if entry.expired(time.monotonic()):
            metrics.CACHE_REQUESTS.labels(self._name, "stale").inc()
            self.load(key, loader, ttl)
        else:
            metrics.CACHE_REQUESTS.labels(self._name, "hit").inc()
        return entry.value

    def fresh(self, key: K) -> V | None:
        """The value if it is in memory and needs no reload (no side effects)."""
        entry = self._entries.get(key)
        if entry is None or entry.expired(time.monotonic()):
            return None
        return entry.value

    def peek(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return entry.value if entry else None

    def load(
        self, key: K, loader: Callable[[], V], ttl: float | None = None, fresh: bool = False
    ) -> Future[V]:
        """Start (or join) a background load of ``key``; thread-safe. ``fresh``: the data changed,
        so a load already running must be followed by another one."""
        with self._guard:
            self._loaders[key] = (loader, ttl)
            running = self._inflight.get(key)
            if running is not None:
                if fresh:
                    self._again.add(key)
                return running
            future = self._pool.submit(self._run, key, loader, ttl)
            self._inflight[key] = future
            return future

    def warm(self, key: K, loader: Callable[[], V], ttl: float | None = None) -> Future[V]:
        """:meth:`load` a key kept in preference to those only readers asked for."""
        with self._guard:
            self._on_demand.discard(key)
        return self.load(key, loader, ttl)

    def reload(self, key: K) -> bool:
        """Reload a key loaded before, in the background; False if it never was."""
        known = self._loaders.get(key)
        if known is None:
            return False
        self.load(key, *known, fresh=True)
        return True

    def put(self, key: K, value: V) -> bool:
        """Keep ``value``, computed elsewhere, for a key loaded before (its loader and ttl
        stay); False when the key never was loaded. A load under way (its data may predate
        ``value``) is followed by another one."""
        with self._guard:
            known = self._loaders.get(key)
            if known is None:
                return False
            self._entries[key] = _Entry(value, time.monotonic(), known[1])
            self._entries.move_to_end(key)
            if key in self._inflight:
                self._again.add(key)
        if self._on_loaded is not None:
            self._on_loaded(key, value)
        return True

    def mark_stale(self, key: K) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.stale = True

    def keys(self) -> list[K]:
        return list(self._entries)

    def clear(self) -> None:
        for key in self.keys():
            self.mark_stale(key)

    def _run(self, key: K, loader: Callable[[], V], ttl: float | None) -> V:
        try:
            started = time.perf_counter()
            try:
                value = loader()
            except Exception:
                # readers keep the previous value; the next stale read tries again
                log.exception("loading %s %r failed", self._name, key)
                raise
            metrics.CACHE_LOAD_SECONDS.labels(self._name).observe(time.perf_counter() - started)
            with self._guard:
                self._entries[key] = _Entry(value, time.monotonic(), ttl)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    old = next((k for k in self._entries if k in self._on_demand), None)
                    if old is None:
                        old, _ = self._entries.popitem(last=False)
                    else:
                        del self._entries[old]
                    self._loaders.pop(old, None)
                    self._on_demand.discard(old)
        finally:
            with self._guard:
                self._inflight.pop(key, None)
                again = key in self._again
                self._again.discard(key)
            if again:
                self.load(key, loader, ttl)
        _freeze_long_lived()
        if self._on_loaded is not None:
            self._on_loaded(key, value)
        return value
