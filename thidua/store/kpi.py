"""KPI reads and materialization over ClickHouse: the one place scorecards come from.

The api and the writer call these; the batch recompute shares only the pure parts. A period's
scorecards are built from two reads — the unit registry's versions (``events_raw``, as a
``thidua.contracts.registry.Registry``: who stands in the period, as of when, and whom each
unit's data counts for) and the measure sums (``kpi_counters``) — under the plan in force on the
period's last day, through the pure code of ``thidua.contracts.scorecard``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from thidua.contracts import index766
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import EventType, Tier
from thidua.contracts.measures import is_flow
from thidua.contracts.periods import Period
from thidua.contracts.plans import Plans
from thidua.contracts.registry import Registry, Standing, UnitVersion
from thidua.contracts.scorecard import Scorecard, UnitInfo, build_scorecard, rank_by_tier
from thidua.store.client import client_lock
from thidua.store.periods_index import affected_periods, standard_periods

log = logging.getLogger(__name__)

__all__ = [
    "affected_periods",
    "award_winners",
    "compute_period",
    "compute_periods",
    "materialize",
    "period_sums",
    "rank_within_block",
    "ranking",
    "read_registry",
    "scorecards_by_unit",
    "standard_periods",
]

# (source, id) keeps its first acceptance (min seq): a resend changes nothing, and rows
# repeated by a writer retry collapse in the same GROUP BY.
_UNIT_VERSIONS = """
SELECT argMin(data, seq) AS payload, toUnixTimestamp64Micro(argMin(time, seq)) AS t_us,
       min(seq) AS first_seq
FROM events_raw
WHERE type = {type:String}
GROUP BY source, id
"""

# Many periods in one scan: the boundaries (periods' and the registry's change days) cut the
# days into segments, each counter row lands in exactly one (the number of boundaries <= its
# day), and Python assembles every period from its segments — no row is read or multiplied
# once per period.
_SEGMENT_SUMS = """
SELECT unit_id, measure, arrayCount(b -> b <= day, {bounds:Array(Date)}) AS segment, sum(value)
FROM kpi_counters FINAL
WHERE day < {last:Date}
GROUP BY unit_id, measure, segment
"""


def unit_info(data: Mapping[str, Any]) -> UnitInfo:
    """A ``vn.thidua.unit.upserted`` data payload as a ``UnitInfo``."""
    return UnitInfo(
        unit_id=str(data["unit_id"]),
        name=str(data["name"]),
        tier=Tier(data["tier"]),
        active=bool(data["active"]),
        block=data.get("block") or None,
        parent_id=data.get("parent_id") or None,
        successor_id=data.get("successor_id") or None,
    )


def unit_versions(rows: Iterable[Sequence[Any]]) -> list[UnitVersion]:
    """(registry JSON, time µs, seq) rows → versions; an unreadable one is logged and skipped
    (the writer validates; never let one row stop all)."""
    versions = []
    for data, time_us, seq in rows:
        try:
            versions.append(UnitVersion(int(time_us), int(seq), unit_info(orjson.loads(data))))
        except (ValueError, KeyError) as exc:
            log.error("an unreadable registry version (%s): %s", data[:200], exc)
    return versions


def read_registry(client: Client) -> Registry:
    """Every unit's versions (the registry is a few hundred rows)."""
    rows = client.query(
        _UNIT_VERSIONS, parameters={"type": EventType.UNIT_UPSERTED.value}
    ).result_rows
    return Registry(unit_versions(rows))


class _Segments:
    """Per (unit, measure), the counters summed per segment of days between ``bounds``:
    segment k holds the days in [bounds[k-1], bounds[k]); segment 0 the days before."""

    def __init__(self, client: Client, bounds: list[date]) -> None:
        self.bounds = bounds
        self.index = {day: k for k, day in enumerate(bounds)}
        rows = client.query(
            _SEGMENT_SUMS, parameters={"bounds": bounds, "last": bounds[-1]}
        ).result_rows
        self.values: dict[tuple[str, str], list[float]] = {}
        for unit_id, measure, segment, value in rows:
            key = (str(unit_id), str(measure))
            self.values.setdefault(key, [0.0] * len(bounds))[int(segment)] = float(value)
        self.totals = {key: list(accumulate(values)) for key, values in self.values.items()}

    def flows(self, registry: Registry, period: Period) -> dict[str, dict[str, float]]:
        """owner → flow measure → sum over the period's days, each segment's counters
        attributed to the owner of their unit on those days."""
        first, last = self.index[period.start_day] + 1, self.index[period.end_day]
        sums: dict[str, dict[str, float]] = {}
        for (unit_id, measure), values in self.values.items():
            if not is_flow(measure):
                continue
            for k in range(first, last + 1):
                if values[k]:
                    owner = registry.owner(unit_id, self.bounds[k - 1])
                    into = sums.setdefault(owner, {})
                    into[measure] = into.get(measure, 0.0) + values[k]
        return sums

    def stocks(self, registry: Registry, until: date) -> dict[str, dict[str, float]]:
        """owner → stock measure → state just before ``until`` (every day before it), each
        unit's stock attributed to its owner on the last day before ``until``."""
        last, on = self.index[until], until - timedelta(days=1)
        sums: dict[str, dict[str, float]] = {}
        for (unit_id, measure), totals in self.totals.items():
            if is_flow(measure):
                continue
            into = sums.setdefault(registry.owner(unit_id, on), {})
            into[measure] = into.get(measure, 0.0) + totals[last]
        return sums


def period_sums(
    client: Client,
    registry: Registry,
    periods: Sequence[Period],
    standings: Mapping[str, Mapping[str, Standing]],
) -> dict[str, dict[str, dict[str, float]]]:
    """period id → unit → measure → sum, for every unit standing in the period (SPEC §3,
    §7.2): flows over the period's days attributed by day, stocks read at the unit's own
    ``until`` (the period's end, or its closing day) attributed as of then."""
    days = {d for p in periods for d in (p.start_day, p.end_day)}
    days |= {s.until for by_unit in standings.values() for s in by_unit.values()}
    last = max(p.end_day for p in periods)
    bounds = sorted(days | {d for d in registry.change_days() if d < last})
    segments = _Segments(client, bounds)
    stocks: dict[date, dict[str, dict[str, float]]] = {}
    result: dict[str, dict[str, dict[str, float]]] = {}
    for period in periods:
        flows = segments.flows(registry, period)
        sums = result[period.id] = {}
        for unit_id, standing in standings[period.id].items():
            if standing.until not in stocks:
                stocks[standing.until] = segments.stocks(registry, standing.until)
            sums[unit_id] = {**stocks[standing.until].get(unit_id, {}), **flows.get(unit_id, {})}
    return result


def score_units(
    config: CriteriaConfig,
    period: Period,
    standings: Mapping[str, Standing],
    sums: Mapping[str, Mapping[str, float]],
) -> list[Scorecard]:
    """Scorecards of the units standing in ``period``, ranked per tier (pure; shared with the
    batch recompute). A unit not ranked in the period (inactive on every day of it) gets
    rank None; its scorecard still answers."""
    cards = [  # a ranked unit is active as shown (a closed one as of its last active day)
        build_scorecard(config, standing.info, period.id, sums.get(unit_id, {}), period.awardable)
        for unit_id, standing in standings.items()
    ]
    for card in cards:  # shown beside the score, never part of it
        card._extra["index_766"] = index766.index_766(sums.get(card.unit.unit_id, {}))
    ranked = rank_by_tier(cards)
    return [card for tier in Tier if tier in ranked for card in ranked[tier]]


def compute_periods(
    client: Client, plans: Plans, periods: Sequence[Period]
) -> dict[str, list[Scorecard]]:
    """Every period's scorecards, each under the plan in force on its last day, reading the
    registry and the counters once (the writer's path)."""
    if not periods:
        return {}
    registry = read_registry(client)
    standings = {p.id: registry.standings(p) for p in periods}
    sums = period_sums(client, registry, periods, standings)
    return {p.id: score_units(plans.for_period(p), p, standings[p.id], sums[p.id]) for p in periods}


def compute_period(client: Client, plans: Plans, period: Period) -> list[Scorecard]:
    """Every unit registered by the period's end, scored and ranked within its tier (units
    not ranked get rank None). Ordered by tier, then rank, then unranked units by unit_id."""
    return compute_periods(client, plans, [period])[period.id]


# --- helpers for the api ------------------------------------------------------------------


def scorecards_by_unit(cards: Iterable[Scorecard]) -> dict[str, Scorecard]:
    return {card.unit.unit_id: card for card in cards}


def ranking(cards: Sequence[Scorecard], tier: Tier, block: str | None = None) -> list[Scorecard]:
    """One tier's ranking; with ``block`` only that block's units, ranked among themselves."""
    return rank_by_tier([c for c in cards if c.unit.tier == tier], block=block).get(tier, [])


def rank_within_block(cards: Sequence[Scorecard], card: Scorecard) -> int | None:
    """``card``'s rank among the units of its tier and block (None: inactive or no block)."""
    if card.unit.block is None:
        return None
    for other in ranking(cards, card.unit.tier, card.unit.block):
        if other.unit.unit_id == card.unit.unit_id:
            return other.rank
    return None


def award_winners(cards: Iterable[Scorecard], tier: Tier | None = None) -> list[Scorecard]:
    """The award-eligible units (``award_eligible`` is already False for non-award periods)."""
    return [c for c in cards if c.award_eligible and (tier is None or c.unit.tier == tier)]


# --- materialization ----------------------------------------------------------------------

_CRITERIA_COLUMNS = [
    "period", "unit_id", "criterion", "numerator", "denominator", "value", "target", "met",
    "attainment", "computed_at",
]  # fmt: skip
_SCORES_COLUMNS = [
    "period", "unit_id", "name", "tier", "block", "active", "score", "criteria_met",
    "criteria_total", "rank", "no_data", "award_eligible", "computed_at",
]  # fmt: skip


def _criteria_rows(cards: Iterable[Scorecard], computed_at: datetime) -> list[list[Any]]:
    return [
        [c.period, c.unit.unit_id, r.id, r.numerator, r.denominator, r.value, r.target,
         int(r.met), r.attainment, computed_at]
        for c in cards
        for r in c.criteria
    ]  # fmt: skip


def _score_rows(cards: Iterable[Scorecard], computed_at: datetime) -> list[list[Any]]:
    return [
        [c.period, c.unit.unit_id, c.unit.name, c.unit.tier.value, c.unit.block or "",
         int(c.unit.active), c.score, c.criteria_met, c.criteria_total, c.rank or 0,
         list(c.no_data), int(c.award_eligible), computed_at]
        for c in cards
    ]  # fmt: skip


def materialize(
    client: Client, plans: Plans, periods: Iterable[Period], computed_at: datetime
) -> dict[str, list[Scorecard]]:
    """Compute ``periods`` and store them in ``kpi_criteria``/``kpi_scores`` (rank 0 =
    unranked). All rows of one run share ``computed_at``: a reader takes a period's rows with
    its latest ``computed_at``, so a unit whose tier changed leaves no stale row behind."""
    results = compute_periods(client, plans, list(periods))
    cards = [card for period_cards in results.values() for card in period_cards]
    if cards:  # one insert per table for all the periods (each insert makes a part)
        with client_lock(client):
            client.insert(
                "kpi_criteria", _criteria_rows(cards, computed_at), column_names=_CRITERIA_COLUMNS
            )
            client.insert(
                "kpi_scores", _score_rows(cards, computed_at), column_names=_SCORES_COLUMNS
            )
    return results


def materialized_scores(client: Client, period_id: str) -> list[dict[str, Any]]:
    """The latest materialized ``kpi_scores`` rows of a period (dicts by column name)."""
    result = client.query(
        "SELECT * FROM kpi_scores FINAL WHERE period = {p:String} AND computed_at = "
        "(SELECT max(computed_at) FROM kpi_scores WHERE period = {p:String}) "
        "ORDER BY tier, rank = 0, rank, unit_id",
        parameters={"p": period_id},
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
