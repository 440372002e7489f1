"""The writer's materialize-and-notify step on a real chDB."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from clickhouse_connect.driver.client import Client

from services.writer.refresh import Refresher
from tests.store.builders import insert_counters, insert_events, unit
from thidua.contracts.plans import default_plans

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


def test_refresh_materializes_the_touched_periods_and_notifies(client: Client) -> None:
    insert_events(client, unit("A"))
    insert_counters(client, ("A", "rating", "2025-05-02", 1))
    heard: list[set[str]] = []
    refresher = Refresher(client, default_plans(), [heard.append, lambda _: 1 / 0], lambda: NOW)
    assert refresher.refresh(flow_days=[date(2025, 5, 2)]) == {"2025", "2025-Q2", "phase-2021-2025"}
    assert heard == [{"2025", "2025-Q2", "phase-2021-2025"}]  # a failing listener is skipped
    periods = client.query("SELECT DISTINCT period FROM kpi_scores ORDER BY period").result_rows
    assert periods == [("2025",), ("2025-Q2",), ("phase-2021-2025",)]


def test_a_failed_refresh_keeps_its_days_pending(client: Client) -> None:
    insert_events(client, unit("A"))
    refresher = Refresher(client, default_plans(), [], lambda: NOW)
    client.command("RENAME TABLE kpi_scores TO kpi_scores_away")
    with pytest.raises(Exception):  # noqa: B017 - whatever ClickHouse raises
        refresher.refresh(stock_days=[date(2025, 12, 31)])
    assert refresher.pending
    client.command("RENAME TABLE kpi_scores_away TO kpi_scores")
    assert refresher.refresh() == {"2025", "2025-Q4", "phase-2021-2025"}
    assert not refresher.pending


def test_rolling_window_is_refreshed_when_the_local_day_changes(client: Client) -> None:
    moments = [
        NOW,
        datetime(2025, 11, 20, 16, 59, tzinfo=UTC),
        datetime(2025, 11, 20, 17, 0, tzinfo=UTC),
    ]
    refresher = Refresher(client, default_plans(), [], lambda: moments[0])
    assert refresher.periods_for([], []) == []
    moments.pop(0)  # 23:59 local, same day
    assert refresher.periods_for([], []) == []
    moments.pop(0)  # local midnight: the 30 days moved
    assert [p.id for p in refresher.periods_for([], [])] == ["rolling-30d"]
