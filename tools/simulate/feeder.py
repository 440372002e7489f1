"""Feeder: POSTs CloudEvents to ingest in batches (``application/cloudevents-batch+json``);
with a :class:`PortalConverter`, procedures and dossiers go as the national portal's format.

Each ingest token is bound to one source system and the event types it may send (SPEC §4), so
events are routed to the first credential whose type globs match, and batched per credential.
429 and 5xx answers (and connection errors) are retried with exponential backoff, honouring
``Retry-After``; any other refusal stops the feed with ingest's reason.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, TextIO

import httpx
import orjson

from tools.simulate.dvcqg import DOSSIERS_PATH, PROCEDURES_PATH, PortalConverter

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
MAX_BODY_BYTES = 5 * 1024 * 1024


class FeedError(RuntimeError):
    """Ingest refused a batch for a reason retrying cannot fix."""


@dataclass(frozen=True, slots=True)
class Credential:
    token: str
    types: tuple[str, ...] = ("*",)  # fnmatch globs over CloudEvents `type`

    def may_send(self, event_type: str) -> bool:
        return any(fnmatchcase(event_type, pattern) for pattern in self.types)


@dataclass(slots=True)
class FeedStats:
    events: int = 0
    batches: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        return self.events / max(time.monotonic() - self.started, 1e-6)

    def line(self) -> str:
        return (
            f"sent {self.events:,} events in {self.batches:,} batches "
            f"({self.rate:,.0f}/s, {self.retries} retries)"
        )


Progress = Callable[[FeedStats], None]


class ProgressPrinter:
    """Progress on stderr: on a terminal one line rewritten in place; in a log (``thidua up``
    keeps one) a line every ``every`` seconds, not thousands of carriage returns on one line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._every = every
        self._clock = clock
        self._last: float | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def __call__(self, stats: FeedStats) -> None:
        stream = self.stream
        if stream.isatty():
            print("\r" + stats.line(), end="", file=stream, flush=True)
            return
        now = self._clock()
        if self._last is None or now - self._last >= self._every:
            self._last = now
            print(stats.line(), file=stream, flush=True)

    def done(self, message: str) -> None:
        """A closing line (after the line rewritten in place, on a terminal)."""
        stream = self.stream
        print(("\n" if stream.isatty() else "") + message, file=stream, flush=True)


print_progress = ProgressPrinter()


class Feeder:
    """Sends batches to ``{ingest_url}/v1/events``; reusable across calls (live mode)."""

    def __init__(
        self,
        ingest_url: str,
        credentials: Sequence[Credential],
        batch_size: int = 500,
        max_retries: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 15.0,
        timeout: float = 60.0,
        progress: Progress | None = None,
        progress_every: float = 1.0,
        portal: PortalConverter | None = None,
    ) -> None:
        if not credentials:
            raise ValueError("at least one ingest credential (bearer token) is needed")
        self.base = ingest_url.rstrip("/")
        self.url = self.base + "/v1/events"
        # --dvc-format dvcqg: procedures and dossiers go to the portal adapter instead.
        self.portal = portal
        self._portal_pending: dict[tuple[str, int], list[bytes]] = {}
        self.credentials = list(credentials)
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.progress = progress
        self.progress_every = progress_every
        self.stats = FeedStats()
        self._last_progress = 0.0
        self._client = httpx.Client(timeout=timeout)
        self._pending: dict[int, list[bytes]] = {}
        self._pending_bytes: dict[int, int] = {}

    def __enter__(self) -> Feeder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _credential_for(self, event: dict[str, Any]) -> int:
        for index, credential in enumerate(self.credentials):
            if credential.may_send(str(event.get("type", ""))):
                return index
        raise FeedError(f"no ingest token may send events of type {event.get('type')!r}")

    def add(self, event: dict[str, Any]) -> None:
        index = self._credential_for(event)
        converted = self.portal.convert(event) if self.portal is not None else None
        if converted is not None:
            path, item = converted
            items = self._portal_pending.setdefault((path, index), [])
            items.append(orjson.dumps(item))
            if len(items) >= self.batch_size:
                self._send_portal(path, index)
            return
        raw = orjson.dumps(event)
        batch = self._pending.setdefault(index, [])
        size = self._pending_bytes.get(index, 2)
        if batch and (len(batch) >= self.batch_size or size + len(raw) + 1 > MAX_BODY_BYTES):
            self._send(index)
            batch = self._pending.setdefault(index, [])
            size = 2
        batch.append(raw)
        self._pending_bytes[index] = size + len(raw) + 1

    def flush(self) -> None:
        self._flush_cloudevents()
        for path in (PROCEDURES_PATH, DOSSIERS_PATH):
            for key in [k for k in self._portal_pending if k[0] == path]:
                self._send_portal(*key)
        self._report(force=True)

    def _flush_cloudevents(self) -> None:
        for index in list(self._pending):
            if self._pending[index]:
                self._send(index)

    def _send_portal(self, path: str, index: int) -> None:
        """A DongBoHoSoMC batch, after everything it may depend on: the units (CloudEvents)
        and, for dossiers, the procedures (their channel is decided from the catalogue)."""
        self._flush_cloudevents()
        if path == DOSSIERS_PATH:
            for key in [k for k in self._portal_pending if k[0] == PROCEDURES_PATH]:
                self._send_portal(*key)
        items = self._portal_pending.pop((path, index), [])
        if not items:
            return
        body = b'{"service":"DongBoHoSoMC","isUpdating":"True","data":[' + b",".join(items)
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.credentials[index].token}",
        }
        self._post(self.base + path, body + b"]}", headers, len(items))

    def _send(self, index: int) -> None:
        batch = self._pending.pop(index)
        self._pending_bytes.pop(index, None)
        body = b"[" + b",".join(batch) + b"]"
        headers = {
            "Content-Type": BATCH_CONTENT_TYPE,
            "Authorization": f"Bearer {self.credentials[index].token}",
        }
        self._post(self.url, body, headers, len(batch))

    def _post(self, url: str, body: bytes, headers: dict[str, str], count: int) -> None:
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            try:
                response = self._client.post(url, content=body, headers=headers)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    self.stats.events += count
                    self.stats.batches += 1
                    self._report()
                    return
                if response.status_code != 429 and response.status_code < 500:
                    raise FeedError(
                        f"ingest refused a batch of {count}: HTTP {response.status_code} "
                        f"{response.text[:2000]}"
                    )
                reason = f"HTTP {response.status_code}"
                delay = max(delay, _retry_after(response))
            if attempt == self.max_retries:
                raise FeedError(f"ingest still failing after {self.max_retries} retries: {reason}")
            self.stats.retries += 1
            time.sleep(min(delay, self.max_backoff))
            delay = min(delay * 2, self.max_backoff)

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self._last_progress >= self.progress_every):
            self._last_progress = now
            self.progress(self.stats)


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0


def feed(
    events: Iterable[dict[str, Any]],
    ingest_url: str,
    credentials: Sequence[Credential] | str,
    batch_size: int = 500,
    progress: Progress | None = print_progress,
    max_retries: int = 8,
    backoff: float = 0.5,
    portal: PortalConverter | None = None,
) -> FeedStats:
    """Send every event to ingest; returns the counts once all are acknowledged (202).

    ``credentials``: one bearer token for all types (an open dev ingest, or a token allowed
    everything), or a ``Credential`` per source system."""
    creds = [Credential(credentials)] if isinstance(credentials, str) else list(credentials)
    with Feeder(
        ingest_url,
        creds,
        batch_size=batch_size,
        progress=progress,
        max_retries=max_retries,
        backoff=backoff,
        portal=portal,
    ) as feeder:
        for event in events:
            feeder.add(event)
        feeder.flush()
        return feeder.stats
