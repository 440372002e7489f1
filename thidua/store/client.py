"""One way to reach ClickHouse: clickhouse-connect, embedded (chDB) or a server.

chDB lets one process open a data path at a time. We make that a rule, not luck: the process
that opens a ``chdb://`` path takes an exclusive lock file beside it, and a second process gets
a clear error naming the owner instead of a corrupted store.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path
from typing import IO

import clickhouse_connect
from clickhouse_connect.driver.client import Client

_locks: dict[Path, IO[str]] = {}
_client_locks: weakref.WeakKeyDictionary[Client, threading.RLock] = weakref.WeakKeyDictionary()
_client_locks_guard = threading.Lock()


class ChdbPathBusy(RuntimeError):
    """Another process owns the embedded ClickHouse data path."""


def chdb_path(dsn: str) -> Path | None:
    if not dsn.startswith("chdb:"):
        return None
    raw = dsn.removeprefix("chdb:").removeprefix("//")
    return Path(raw).resolve() if raw else None


def _lock(path: Path) -> None:
    if path in _locks:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path.with_name(path.name + ".lock"), "a+", encoding="utf-8")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise ChdbPathBusy(
            f"the embedded ClickHouse at {path} is open in {owner}; only one process may open "
            "a chDB path — run this through that process, stop it, or use a ClickHouse server"
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    _locks[path] = handle


def get_client(dsn: str) -> Client:
    """A clickhouse-connect client for ``chdb:///path`` or ``http(s)://…``."""
    if (path := chdb_path(dsn)) is not None:
        path.mkdir(parents=True, exist_ok=True)
        _lock(path)
        return clickhouse_connect.get_client(dsn=f"chdb://{path}")
    return clickhouse_connect.get_client(dsn=dsn)


def client_lock(client: Client) -> threading.RLock:
    """The lock of ``client`` for sequences of calls that must not interleave with another
    thread's (e.g. the writer's inserts beside api reads in embedded mode).

    A single ``query``/``insert``/``command`` needs no lock: clickhouse-connect's chDB backend
    already serializes calls on one handle. Only streaming reads (``query_*_stream``) must hold
    this lock until the stream is consumed, since another call on an open stream's handle
    silently returns nothing.
    """
    with _client_locks_guard:
        lock = _client_locks.get(client)
        if lock is None:
            lock = _client_locks[client] = threading.RLock()
        return lock
