"""Both modes of the schema, checked by ClickHouse's own parser (chDB's ``formatQuery``, which
parses what it could not run: ``ON CLUSTER`` and ``Replicated*`` need Keeper), and the
single-node mode run for real by the other tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from thidua.settings import CommonSettings
from thidua.store import migrations, schema
from thidua.store.client import get_client
from thidua.store.cluster import NotClusterSafe, check_name, on_cluster

CLUSTER = "thidua"


@pytest.fixture(scope="module")
def parser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    client = get_client(f"chdb://{tmp_path_factory.mktemp('parser') / 'chdb'}")
    yield client
    client.close()


def every_statement() -> list[str]:
    statements = [migrations._LEDGER, "DELETE FROM schema_migrations WHERE number = 1"]
    statements.append("TRUNCATE TABLE IF EXISTS kpi_counters")  # thidua kafka regenerate
    for migration in migrations.MIGRATIONS:
        statements += [*migration.forward, *migration.backward]
    return statements


def parsed(parser: Client, statement: str) -> str:
    """The statement as ClickHouse's parser understands it (raises on a syntax error)."""
    text = parser.query("SELECT formatQuery({q:String})", parameters={"q": statement})
    return str(text.result_rows[0][0])


@pytest.mark.parametrize("cluster", ["", CLUSTER])
def test_clickhouse_parses_every_migration(parser: Client, cluster: str) -> None:
    for statement in every_statement():
        ddl = on_cluster(statement, cluster)
        formatted = parsed(parser, ddl)
        assert (f"ON CLUSTER {CLUSTER}" in formatted) == bool(cluster), ddl
        parser.query(f"EXPLAIN AST {ddl}")


def test_cluster_mode_replicates_every_table(parser: Client) -> None:
    for table in schema.TABLES:
        formatted = parsed(parser, on_cluster(table.create_sql(), CLUSTER))
        engine = table.engine.partition("(")[0]
        assert f"ENGINE = Replicated{engine}('/clickhouse/tables/{{shard}}/" in formatted
        assert "'{replica}'" in formatted
        # the version column stays the engine's last argument
        if "(" in table.engine:
            args = table.engine.partition("(")[2].rstrip(")")
            assert f"'{{replica}}', {args})" in formatted, table.name
    drop = on_cluster("DROP TABLE IF EXISTS kpi_scores", CLUSTER)
    assert parsed(parser, drop).endswith("SYNC")


def test_single_node_mode_is_unchanged() -> None:
    for statement in every_statement():
        assert on_cluster(statement, "") == statement
    assert CommonSettings().clickhouse_cluster == ""


def test_unknown_statements_and_names_are_refused() -> None:
    with pytest.raises(NotClusterSafe):
        on_cluster("INSERT INTO kpi_counters VALUES (1)", CLUSTER)
    with pytest.raises(NotClusterSafe):
        on_cluster("CREATE TABLE t (a String) ENGINE = Memory", CLUSTER)
    with pytest.raises(ValueError):
        check_name("thidua`; DROP TABLE x")
