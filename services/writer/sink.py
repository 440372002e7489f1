"""Write step: insert a batch's rows, one INSERT per table, retrying until it succeeds.

Every insert is idempotent under its table's ReplacingMergeTree key (a retried events_raw row
is identical; a counter's version is its offset; an alert's is updated_at), so retrying after
a partial failure never shows a row twice through FINAL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from clickhouse_connect.driver.client import Client

from services.writer import metrics
from services.writer.rows import TableSpec

log = logging.getLogger(__name__)


class Stopped(RuntimeError):
    """The writer was asked to stop while a write was still failing."""


def insert_table(client: Client, table: TableSpec, rows: list[list[Any]]) -> None:
    started = time.perf_counter()
    client.insert(table.table, rows, column_names=list(table.columns))
    metrics.WRITE_LATENCY.labels(table.table).observe(time.perf_counter() - started)
    metrics.ROWS_WRITTEN.labels(table.table).inc(len(rows))


def write_rows(
    client: Client,
    rows: dict[TableSpec, list[list[Any]]],
    stopping: threading.Event,
    max_backoff: float = 10.0,
    on_failure: Callable[[str], None] = lambda _: None,
) -> None:
    """Insert every table's rows; on failure back off and retry, unless asked to stop (then
    raise ``Stopped``: the batch's offsets stay uncommitted and Kafka redelivers it)."""
    pending = dict(rows)
    backoff = 0.1
    while pending:
        table, table_rows = next(iter(pending.items()))
        try:
            insert_table(client, table, table_rows)
        except Exception as exc:
            metrics.WRITE_ERRORS.labels(table.table).inc()
            on_failure(f"insert into {table.table}: {type(exc).__name__}: {exc}")
            log.exception("insert into %s failed; retrying in %.1fs", table.table, backoff)
            if stopping.wait(backoff):
                raise Stopped(f"stopped while inserts into {table.table} failed") from None
            backoff = min(backoff * 2, max_backoff)
            continue
        del pending[table]
