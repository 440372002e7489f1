"""A fresh, migrated chDB per test (one engine per process: the client is closed after)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from thidua.store.client import get_client
from thidua.store.migrations import migrate


@pytest.fixture
def client(chdb_dsn: str) -> Iterator[Client]:
    ch = get_client(chdb_dsn)
    migrate(ch, progress=lambda _: None)
    yield ch
    ch.close()
