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
from datetime import datetime
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from services.api.cache import SwrCache
from services.api.views import PeriodView, now_local, rfc3339
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.periods import ROLLING_30D, Period, parse_period, today
from thidua.contracts.plans import Plans, final
from thidua.contracts.registry import Registry, Standing
from thidua.contracts.scorecard import Scorecard

log = logging.getLogger(__name__)


class ComputePeriod(Protocol):
    def __call__(self, client: Client, plans: Plans, period: Period) -> list[Scorecard]: ...


def default_compute() -> ComputePeriod:
    from thidua.store.kpi import compute_period  # the KPI reads are the store's, not ours

    return compute_period


class KpiService:
    def __init__(
        self,
        client: Client,
        plans: Plans,
        compute: ComputePeriod | None = None,
        rolling_ttl: float = 60.0,
    ) -> None:
        self.client = client
        self.plans = plans
        self._compute = compute
        self.rolling_ttl = rolling_ttl
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="api-cache")
        self._listeners: list[Callable[[str], None]] = []
        self._accepted: set[str] = set()  # periods accept() took since the last on_refresh
        self.periods: SwrCache[str, PeriodView] = SwrCache(
            "periods", self.pool, max_entries=128, on_loaded=self._loaded
        )
        # The registry's versions, for the catalog's tiers per period (reloaded on refresh).
        self.registry: SwrCache[str, Registry] = SwrCache("registry", self.pool, max_entries=1)

    # ----- periods -------------------------------------------------------------------------
    def parse(self, text: str) -> Period:
        """A period some plan scores (SPEC §7.1), else PeriodError: checked before any work."""
        return self.plans.parse(text, now_local())

    async def view(self, period: Period) -> PeriodView:
        ttl = self.rolling_ttl if period.id == ROLLING_30D else None
        return await self.periods.get(period.id, self._loader(period.id), ttl)

    def fresh_view(self, period_id: str) -> PeriodView | None:
        """The view of ``period_id`` when it is cached and current, without waiting."""
        return self.periods.fresh(period_id)

    def _loader(self, period_id: str) -> Callable[[], PeriodView]:
        def load() -> PeriodView:
            period = self.plans.parse(period_id, now_local())  # rolling-30d: the window of now
            compute = self._compute or default_compute()
            cards = compute(self.client, self.plans, period)
            return PeriodView.build(period, self.plans.for_period(period), list(cards), now_local())

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
        rest = [p.id for p in standard_periods(now_local(), self.plans)]
        return list(
            dict.fromkeys([*(p for p in first if p in rest), *rest])
        )  # the likeliest reads load first

    def quarter_ids(self) -> list[str]:
        """Every started quarter of every plan (the trend's x axis)."""
        return [p.id for p in self.plans.periods(now_local()) if p.kind == "quarter"]

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
            period = parse_period(period_id, now)
            view = PeriodView.build(period, self.plans.for_period(period), list(cards), now)
            if self.periods.put(period_id, view):
                self._accepted.add(period_id)

    def on_refresh(self, changed_period_ids: set[str]) -> None:
        """The writer's callback (any thread): recompute the named periods in the background
        (those :meth:`accept` took are current already). Cached periods the writer does not
        track (before the phase, ad-hoc) are marked stale, so their next reader triggers a
        reload."""
        standard = set(self.standard_period_ids())
        accepted, self._accepted = self._accepted, set()
        for key in self.registry.keys():
            self.registry.mark_stale(key)
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
            view = await self.view(self.parse(period_id))
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

    async def catalog(self) -> dict[str, Any]:
        now = now_local()
        current = self.plans.current(now) or self.plans.plans[-1]
        registry = await self.registry.get("registry", self._load_registry)
        started = self.plans.periods(now)
        future = [p for p in self.plans.periods(now, started_only=False) if p not in started]
        return {
            "plan": current.plan,
            "award": current.award,
            "phase": current.plan_id,
            "plans": [_plan_info(plan) for plan in self.plans],
            "tiers": [{"id": t.value, "label": label} for t, label in current.tiers.items()],
            "criteria": [
                {
                    "id": c.id,
                    "label": c.label,
                    "kind": c.kind,
                    "boolean": c.boolean,
                    "targets": {t.value: v for t, v in c.targets.items()},
                }
                for c in current.criteria
            ],
            "periods": [
                self._period_info(p, registry, now, p in started)
                for p in [*_newest_first(started), *_newest_first(future)]
            ],
        }

    def _load_registry(self) -> Registry:
        from thidua.store.kpi import read_registry

        return read_registry(self.client)

    def _period_info(
        self, period: Period, registry: Registry, now: datetime, started: bool
    ) -> dict[str, Any]:
        plan = self.plans.for_period(period)
        ranked: dict[Tier, list[Standing]] = {}
        for standing in registry.standings(period).values():
            if standing.ranked:
                ranked.setdefault(standing.info.tier, []).append(standing)
        tiers = []
        for tier, label in plan.tiers.items():
            units = ranked.get(tier, [])
            if units:
                closings = [s.info.closed_at for s in units]
                until = None
                if all(closings):
                    until = max(c.date() for c in closings if c is not None)
                tiers.append(
                    {"id": tier.value, "label": label, "ranked": len(units), "until": until}
                )
        return {
            "id": period.id,
            "kind": period.kind,
            "plan_id": plan.plan_id,
            "plan_provisional": plan.provisional,
            "final": final(period, now),
            "started": started,
            "tiers": tiers,
        }

    async def blocks(self, period: Period, tier: Tier) -> list[str]:
        return (await self.view(period)).blocks(tier)

    async def recompute(self, settle: bool = False) -> dict[str, Any]:
        """``thidua recompute`` on this engine: every standard period from the raw events,
        compared with the streaming results (on the ClickHouse thread: reads wait)."""
        from thidua.store.periods_index import standard_periods
        from thidua.store.recompute import LIVE_SETTLE, compare_report, report_json

        periods = standard_periods(now_local(), self.plans)
        waits = LIVE_SETTLE if settle else ()  # thidua recompute asks for it on a live stack
        future = self.pool.submit(compare_report, self.client, self.plans, periods, waits)
        return report_json(await asyncio.wrap_future(future))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


_KIND_ORDER = {"rolling": 0, "year": 1, "phase": 2, "quarter": 3}


def _newest_first(periods: Sequence[Period]) -> list[Period]:
    """rolling-30d, then years, phases and quarters, each kind newest first."""
    return sorted(periods, key=lambda p: (_KIND_ORDER[p.kind], -p.end_day.toordinal()))


def _plan_info(plan: CriteriaConfig) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id,
        "title": plan.plan,
        "start": plan.phase.start,
        "end": plan.phase.end,
        "target_date": plan.target_date,
        "provisional": plan.provisional,
        "note": plan.note,
        "award": plan.award,
    }
