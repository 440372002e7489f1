"""Materialize-and-notify step: after a flush, recompute the periods its days can move,
store them, then tell the listeners (api cache, SSE) which periods changed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime

from clickhouse_connect.driver.client import Client

from services.writer import metrics
from thidua.contracts.periods import ROLLING_30D, Period, parse_period, today
from thidua.contracts.plans import Plans
from thidua.contracts.scorecard import Scorecard
from thidua.store.kpi import materialize
from thidua.store.periods_index import affected_periods, standard_periods

log = logging.getLogger(__name__)

RefreshListener = Callable[[set[str]], None]
# Receives every materialized scorecard (e.g. to publish ``kpi-results`` for notify).
ResultsPublisher = Callable[[dict[str, list[Scorecard]], datetime], None]
# Receives every materialized scorecard before the refresh is announced (the embedded api).
ResultsListener = Callable[[dict[str, list[Scorecard]]], None]


class Refresher:
    def __init__(
        self,
        client: Client,
        plans: Plans,
        listeners: Sequence[RefreshListener],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        publish: ResultsPublisher | None = None,
        on_results: Sequence[ResultsListener] = (),
    ) -> None:
        self._client = client
        self._plans = plans
        self._listeners = list(listeners)
        self._clock = clock
        self._publish = publish
        self._on_results = list(on_results)
        self._last_day: date | None = None
        self._pending_stock: set[date] = set()
        self._pending_flow: set[date] = set()

    def periods_for(self, stock_days: Iterable[date], flow_days: Iterable[date]) -> list[Period]:
        now = self._clock()
        periods = affected_periods(stock_days, now, self._plans, flow_days)
        # rolling-30d moves at local midnight even when no counter does.
        current = today(now)
        if self._last_day is not None and current != self._last_day:
            if all(p.id != ROLLING_30D for p in periods) and self._plans.current(now):
                periods.append(parse_period(ROLLING_30D, now))
        self._last_day = current
        return periods

    def refresh(self, stock_days: Iterable[date] = (), flow_days: Iterable[date] = ()) -> set[str]:
        """Re-materialize and notify; returns the period ids refreshed. Days of a refresh that
        failed stay pending and are retried with the next one."""
        self.defer(stock_days, flow_days)
        changed = self._materialize(self.periods_for(self._pending_stock, self._pending_flow))
        self._pending_stock.clear()
        self._pending_flow.clear()
        return changed

    def defer(self, stock_days: Iterable[date], flow_days: Iterable[date]) -> None:
        """Days whose periods the next :meth:`refresh` re-materializes."""
        self._pending_stock.update(stock_days)
        self._pending_flow.update(flow_days)

    @property
    def pending(self) -> bool:
        return bool(self._pending_stock or self._pending_flow)

    def _materialize(self, periods: list[Period]) -> set[str]:
        if not periods:
            return set()
        started = time.perf_counter()
        computed_at = self._clock()
        results = materialize(self._client, self._plans, periods, computed_at=computed_at)
        metrics.MATERIALIZE_SECONDS.set(time.perf_counter() - started)
        if self._publish is not None:
            self._publish(results, computed_at)
        for listener in self._on_results:
            try:
                listener(results)
            except Exception:  # a listener's bug must not stop the writer
                log.exception("on_results listener %r failed", listener)
        metrics.PERIODS_MATERIALIZED.inc(len(periods))
        changed = {p.id for p in periods}
        self.notify(changed)
        return changed

    def refresh_all(self) -> set[str]:
        """Re-materialize every standard period (at start: the criteria config or the code may
        have changed since the tables were written)."""
        now = self._clock()
        self._last_day = today(now)
        periods = standard_periods(now, self._plans)
        return self._materialize(periods)

    def notify(self, changed: set[str]) -> None:
        for listener in self._listeners:
            try:
                listener(set(changed))
            except Exception:  # a listener's bug must not stop the writer
                log.exception("on_refresh listener %r failed", listener)
