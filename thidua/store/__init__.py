"""ClickHouse storage: client, schema, migrations (reads and writes live beside them)."""
