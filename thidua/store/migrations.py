"""Numbered, reversible migrations, applied idempotently at start."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from thidua.store import schema
from thidua.store.cluster import on_cluster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    forward: tuple[str, ...]
    backward: tuple[str, ...]


def _create(*tables: schema.Table) -> tuple[str, ...]:
    return tuple(t.create_sql() for t in tables)


def _drop(*tables: schema.Table) -> tuple[str, ...]:
    return tuple(f"DROP TABLE IF EXISTS {t.name}" for t in tables)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raw_events", _create(schema.EVENTS_RAW), _drop(schema.EVENTS_RAW)),
    Migration(2, "kpi_counters", _create(schema.KPI_COUNTERS), _drop(schema.KPI_COUNTERS)),
    Migration(
        3,
        "kpi_results",
        _create(schema.KPI_CRITERIA, schema.KPI_SCORES),
        _drop(schema.KPI_CRITERIA, schema.KPI_SCORES),
    ),
    Migration(4, "alerts", _create(schema.ALERTS), _drop(schema.ALERTS)),
    Migration(5, "silences", _create(schema.SILENCES), _drop(schema.SILENCES)),
)

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (number UInt32, name String, "
    "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY number"
)


def applied(client: Client, cluster: str = "") -> set[int]:
    client.command(on_cluster(_LEDGER, cluster))
    rows = client.query("SELECT number FROM schema_migrations FINAL").result_rows
    return {int(r[0]) for r in rows}


def migrate(
    client: Client, progress: Callable[[str], None] = log.info, cluster: str = ""
) -> list[int]:
    """Apply every migration not yet applied; returns the numbers applied now. With a
    ``cluster`` (THIDUA_CLICKHOUSE_CLUSTER) every table is replicated on all its nodes."""
    done = applied(client, cluster)
    now: list[int] = []
    for migration in MIGRATIONS:
        if migration.number in done:
            continue
        for statement in migration.forward:
            client.command(on_cluster(statement, cluster))
        client.insert(
            "schema_migrations",
            [[migration.number, migration.name]],
            column_names=["number", "name"],
        )
        progress(f"migration {migration.number:04d}_{migration.name} applied")
        now.append(migration.number)
    return now


def rollback(client: Client, to_number: int, cluster: str = "") -> list[int]:
    """Reverse migrations above ``to_number``, newest first."""
    done = applied(client, cluster)
    reversed_now: list[int] = []
    for migration in sorted(MIGRATIONS, key=lambda m: -m.number):
        if migration.number <= to_number or migration.number not in done:
            continue
        for statement in migration.backward:
            client.command(on_cluster(statement, cluster))
        forget = f"DELETE FROM schema_migrations WHERE number = {migration.number}"
        client.command(on_cluster(forget, cluster))
        reversed_now.append(migration.number)
    return reversed_now
