"""What the handlers ask for: KPI views per period, cached and refreshed by the writer.

Every period is computed by ``thidua.store.kpi.compute_period`` at most once per change: the
writer's ``on_refresh`` names the periods its flush touched and they are recomputed in the
background while readers keep the previous result. ``rolling-30d`` also moves with the clock,
so it expires after ``rolling_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from services.api.cache import SwrCache
from services.api.views import PeriodView, now_local, rfc3339
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.periods import ROLLING_30D, Period, parse_period, today
from thidua.contracts.scorecard import Scorecard

log = logging.getLogger(__name__)


class ComputePeriod(Protocol):
    def __call__(
        self, client: Client, config: CriteriaConfig, period: Period
    ) -> list[Scorecard]: ...


def default_compute() -> ComputePeriod:
    from thidua.store.kpi import compute_period  # the KPI reads are the store's, not ours

    return compute_period


class KpiService:
    def __init__(
        self,
        client: Client,
        config: CriteriaConfig,
        compute: ComputePeriod | None = None,
        rolling_ttl: float = 60.0,
    ) -> None:
        self.client = client
        self.config = config
        self._compute = compute
        self.rolling_ttl = rolling_ttl
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="api-cache")
        self._listeners: list[Callable[[str], None]] = []
        self._accepted: set[str] = set()  # periods accept() took since the last on_refresh
        self.periods: SwrCache[str, PeriodView] = SwrCache(
            "periods", self.pool, max_entries=128, on_loaded=self._loaded
        )

    # ----- periods -------------------------------------------------------------------------
    def parse(self, text: str) -> Period:
        return parse_period(text, now_local())

    async def view(self, period: Period) -> PeriodView:
        ttl = self.rolling_ttl if period.id == ROLLING_30D else None
        return await self.periods.get(period.id, self._loader(period.id), ttl)

    def fresh_view(self, period_id: str) -> PeriodView | None:
        """The view of ``period_id`` when it is cached and current, without waiting."""
        return self.periods.fresh(period_id)

    def _loader(self, period_id: str) -> Callable[[], PeriodView]:
        def load() -> PeriodView:
            period = parse_period(period_id, now_local())  # rolling-30d: the window of now
            compute = self._compute or default_compute()
            cards = compute(self.client, self.config, period)
            return PeriodView.build(period, list(cards), now_local())

        return load

    def warm(self, period_ids: Iterable[str]) -> list[Future[PeriodView]]:
        """Load periods in the background so the first readers find them in memory."""
        ttl_of = {ROLLING_30D: self.rolling_ttl}
        return [self.periods.warm(p, self._loader(p), ttl_of.get(p)) for p in period_ids]

    def standard_period_ids(self) -> list[str]:
        """Periods the writer keeps materialized and names in its refreshes."""
        from thidua.store.periods_index import standard_periods

        current = today(now_local())
        first = [str(current.year), f"{current.year}-Q{(current.month - 1) // 3 + 1}", ROLLING_30D]
        rest = [p.id for p in standard_periods(now_local(), self.config.phase)]
        return list(dict.fromkeys([*first, *rest]))  # the likeliest reads load first

    def quarter_ids(self) -> list[str]:
        """Every started quarter since the phase began (the trend's x axis)."""
        current = today(now_local())
        first = parse_period(self.config.phase).start_day.year
        return [
            f"{year}-Q{q}"
            for year in range(first, current.year + 1)
            for q in range(1, 5)
            if date(year, 3 * q - 2, 1) <= current
        ]

    # ----- refresh -------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[str], None]) -> None:
        """``listener(period_id)`` runs (on the cache thread) after a period was recomputed."""
        self._listeners.append(listener)

    def accept(self, results: Mapping[str, Sequence[Scorecard]]) -> None:
        """The embedded writer's scorecards, just materialized (its thread): cached periods
        take them as they are, and its ``on_refresh`` that follows does not compute them
        again (that doubled the work of every refresh)."""
        now = now_local()
        for period_id, cards in results.items():
            view = PeriodView.build(parse_period(period_id, now), list(cards), now)
            if self.periods.put(period_id, view):
                self._accepted.add(period_id)

    def on_refresh(self, changed_period_ids: set[str]) -> None:
        """The writer's callback (any thread): recompute the named periods in the background
        (those :meth:`accept` took are current already). Cached periods the writer does not
        track (before the phase, ad-hoc) are marked stale, so their next reader triggers a
        reload."""
        standard = set(self.standard_period_ids())
        accepted, self._accepted = self._accepted, set()
        for period_id in self.periods.keys():
            if period_id in accepted:
                continue
            if period_id in changed_period_ids:
                self.periods.reload(period_id)
            elif period_id not in standard:
                self.periods.mark_stale(period_id)

    def _loaded(self, period_id: str, view: PeriodView) -> None:
        for listener in self._listeners:
            try:
                listener(period_id)
            except Exception:  # a broken listener must not stop the cache
                log.exception("refresh listener failed for %s", period_id)

    # ----- derived reads -------------------------------------------------------------------
    async def trend(self, unit_id: str) -> dict[str, Any] | None:
        points: list[dict[str, Any]] = []
        last: Scorecard | None = None
        for period_id in self.quarter_ids():
            view = await self.view(parse_period(period_id))
            card = view.by_unit.get(unit_id)
            if card is not None:
                last = card
            points.append(
                {
                    "period": period_id,
                    "score": card.score if card else None,
                    "rank": card.rank if card else None,
                    "criteria_met": card.criteria_met if card else None,
                    "criteria_total": card.criteria_total if card else None,
                }
            )
        if last is None:
            return None
        return {
            "unit_id": unit_id,
            "name": last.unit.name,
            "tier": last.unit.tier.value,
            "generated_at": rfc3339(now_local()),
            "points": points,
        }

    def catalog(self) -> dict[str, Any]:
        return {
            "plan": self.config.plan,
            "award": self.config.award,
            "phase": self.config.phase,
            "tiers": [{"id": t.value, "label": label} for t, label in self.config.tiers.items()],
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label,
                    "kind": c.kind,
                    "boolean": c.boolean,
                    "targets": {t.value: v for t, v in c.targets.items()},
                }
                for c in self.config.criteria
            ],
            "periods": self._catalog_periods(),
        }

    def _catalog_periods(self) -> list[str]:
        current = today(now_local())
        first = parse_period(self.config.phase).start_day.year
        years = [str(y) for y in range(current.year, first - 1, -1)]
        quarters = list(reversed(self.quarter_ids()))
        return [*years, ROLLING_30D, self.config.phase, *quarters]

    async def blocks(self, period: Period, tier: Tier) -> list[str]:
        return (await self.view(period)).blocks(tier)

    async def recompute(self) -> dict[str, Any]:
        """``thidua recompute`` on this engine: every standard period from the raw events,
        compared with the streaming results (on the ClickHouse thread: reads wait)."""
        from services.scoring.recompute import compare_report, report_json
        from thidua.store.periods_index import standard_periods

        periods = standard_periods(now_local(), self.config.phase)
        future = self.pool.submit(compare_report, self.client, self.config, periods)
        return report_json(await asyncio.wrap_future(future))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
