"""Which periods are kept materialized, and which of them a change of counters touches.

The writer re-materializes ``kpi_criteria``/``kpi_scores`` after every flush; it must redo
exactly the periods whose result may have moved. A counter of a flow measure only moves the
periods containing its day; a stock counter (or a registry change) moves every period that
ends after its day, since the state at each later end includes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from thidua.contracts.periods import Period
from thidua.contracts.plans import Plans


def standard_periods(now: datetime, plans: Plans) -> list[Period]:
    """Every started year, quarter and phase of the plans, and ``rolling-30d`` (ending today)."""
    return plans.periods(now)


def affected_periods(
    changed_days: Iterable[date],
    now: datetime,
    plans: Plans,
    flow_days: Iterable[date] = (),
) -> list[Period]:
    """The standard periods a change touches.

    ``changed_days``: days of stock counters or registry versions (or of anything whose kind is
    unknown) — every period ending after the day. ``flow_days``: days of flow counters — only
    the periods containing the day. ``rolling-30d`` contains today, so a change today always
    touches it.
    """
    stock = set(changed_days)
    flow = set(flow_days)
    if not stock and not flow:
        return []
    earliest_stock = min(stock) if stock else None
    touched = []
    for period in standard_periods(now, plans):
        if earliest_stock is not None and period.end_day > earliest_stock:
            touched.append(period)
        elif any(period.contains_day(day) for day in flow):
            touched.append(period)
    return touched
