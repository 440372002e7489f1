"""Cluster mode (``THIDUA_CLICKHOUSE_CLUSTER``): the same schema on replicated ClickHouse.

Migrations are written once, for one node; in cluster mode each statement is rewritten here
(a few statement shapes, no general SQL parsing): ``ON CLUSTER`` on every DDL, so one migrate
reaches every replica through Keeper, and every MergeTree-family engine becomes its
``Replicated*`` twin, with its replica path in Keeper built from the server's own macros
(``{shard}``, ``{replica}``; deploy/k8s/components/clickhouse-cluster defines them). A statement of
another shape is refused rather than run on one node only; tests/store/test_cluster_schema.py
has ClickHouse's parser check every migration in both modes.
"""

from __future__ import annotations

import re

# Keeper path of a table's replicas: one per shard, table and database.
REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ENGINE = re.compile(r"ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?")
# (pattern, where ON CLUSTER goes: after group 1)
_DDL = (
    re.compile(r"^(CREATE TABLE (?:IF NOT EXISTS )?\w+)"),
    re.compile(r"^(DROP TABLE (?:IF EXISTS )?\w+)"),
    re.compile(r"^(TRUNCATE TABLE (?:IF EXISTS )?\w+)"),
    re.compile(r"^(ALTER TABLE \w+)"),
    re.compile(r"^(DELETE FROM \w+)"),
    re.compile(r"^(RENAME TABLE \w+ TO \w+)"),
)


class NotClusterSafe(ValueError):
    """A statement cluster mode does not know how to run on every replica."""


def check_name(cluster: str) -> str:
    """A cluster name as ``remote_servers`` declares it (it is spliced into DDL)."""
    if cluster and not _NAME.match(cluster):
        raise ValueError(f"not a ClickHouse cluster name: {cluster!r}")
    return cluster


def on_cluster(statement: str, cluster: str) -> str:
    """``statement`` for every replica of ``cluster`` (unchanged when ``cluster`` is empty)."""
    if not check_name(cluster):
        return statement
    text = statement.strip()
    for pattern in _DDL:
        if pattern.match(text):
            text = pattern.sub(lambda m: f"{m.group(1)} ON CLUSTER `{cluster}`", text, count=1)
            break
    else:
        raise NotClusterSafe(f"cluster mode cannot run: {text.splitlines()[0]}")
    if text.startswith("CREATE TABLE"):
        text = replicated_engine(text)
    if text.startswith("DROP TABLE"):
        text += " SYNC"  # the Keeper path is free at once: the table can be created again
    return text


def replicated_engine(statement: str) -> str:
    """``ENGINE = XMergeTree(args)`` → ``ENGINE = ReplicatedXMergeTree(path, replica, args)``."""

    def swap(match: re.Match[str]) -> str:
        engine, args = match.group(1), match.group(2)
        if engine.startswith("Replicated"):
            return match.group(0)
        extra = f", {args}" if args else ""
        return f"ENGINE = Replicated{engine}({REPLICA_PATH}{extra})"

    replaced, count = _ENGINE.subn(swap, statement, count=1)
    if count == 0:
        raise NotClusterSafe(f"not a MergeTree table: {statement.splitlines()[0]}")
    return replaced
