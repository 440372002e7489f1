"""The live schema is exactly the one declared in thidua/store/schema.py."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from thidua.store import migrations, schema


def _declared(table: schema.Table) -> list[tuple[str, str, str]]:
    columns = []
    for name, declaration in table.columns:
        type_, _, default = declaration.partition(" DEFAULT ")
        columns.append((name, type_, default))
    return columns


def test_every_table_matches_its_declaration(client: Client) -> None:
    for table in schema.TABLES:
        rows = client.query(
            "SELECT name, type, default_expression FROM system.columns "
            "WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
            parameters={"t": table.name},
        ).result_rows
        assert [tuple(r) for r in rows] == _declared(table), table.name


def test_engines_and_sorting_keys_match(client: Client) -> None:
    for table in schema.TABLES:
        engine_full, sorting_key = client.query(
            "SELECT engine_full, sorting_key FROM system.tables "
            "WHERE database = currentDatabase() AND name = {t:String}",
            parameters={"t": table.name},
        ).result_rows[0]
        assert engine_full.startswith(table.engine), table.name
        assert _bare(sorting_key) == _bare(table.order_by), table.name


def _bare(key: str) -> str:
    return key.replace(" ", "").strip("()")


def test_migrations_are_idempotent_and_reversible(client: Client) -> None:
    assert migrations.migrate(client, progress=lambda _: None) == []
    numbers = sorted(m.number for m in migrations.MIGRATIONS)
    assert migrations.rollback(client, 0) == numbers[::-1]
    tables = {r[0] for r in client.query("SHOW TABLES").result_rows}
    assert not tables & {t.name for t in schema.TABLES}
    assert migrations.migrate(client, progress=lambda _: None) == numbers
