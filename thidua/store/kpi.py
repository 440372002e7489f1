"""KPI reads and materialization over ClickHouse: the one place scorecards come from.

The api, the writer and the batch recompute all call these. A period's scorecards are
built from two reads — the unit registry at the period's end (``events_raw``) and the measure
sums (``kpi_counters``) — through the pure code of ``thidua.contracts.scorecard``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import accumulate
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from thidua.contracts import index766
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import EventType, Tier, to_utc_micros
from thidua.contracts.periods import Period
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
    "measure_sums",
    "measure_sums_many",
    "rank_within_block",
    "ranking",
    "scorecards_by_unit",
    "standard_periods",
    "units_at",
    "units_at_many",
]

# (source, id) keeps its first acceptance (min seq): a resend changes nothing, and rows
# repeated by a writer retry collapse in the same GROUP BY. Then per unit the latest version
# before the end wins, by (time, seq).
_UNITS_AT = """
SELECT unit, argMax(payload, (t, first_seq))
FROM (
    SELECT argMin(unit_id, seq) AS unit, argMin(data, seq) AS payload,
           argMin(time, seq) AS t, min(seq) AS first_seq
    FROM events_raw
    WHERE type = {type:String}
    GROUP BY source, id
)
WHERE t < fromUnixTimestamp64Micro({end_us:Int64}, 'UTC')
GROUP BY unit
"""

_MEASURE_SUMS = """
SELECT unit_id, measure, sum(value)
FROM kpi_counters FINAL
WHERE day < {end_day:Date} AND (day >= {start_day:Date} OR NOT has({flow:Array(String)}, measure))
GROUP BY unit_id, measure
"""

# Many periods in one scan: the periods' boundaries cut the days into segments, each counter
# row lands in exactly one (the number of boundaries <= its day), and Python assembles every
# period from its segments — no row is read or multiplied once per period.
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


def units_at(client: Client, end: datetime) -> dict[str, UnitInfo]:
    """The unit registry as it stood just before ``end`` (SPEC §3: latest version with
    ``time < end``), keyed by unit_id."""
    rows = client.query(
        _UNITS_AT, parameters={"type": EventType.UNIT_UPSERTED.value, "end_us": to_utc_micros(end)}
    ).result_rows
    return _unit_infos(rows)


def _unit_infos(rows: Iterable[Sequence[Any]]) -> dict[str, UnitInfo]:
    """(unit_id, registry JSON) rows → unit_id → UnitInfo."""
    units = {}
    for unit_id, data in rows:
        try:
            units[str(unit_id)] = unit_info(orjson.loads(data))
        except (ValueError, KeyError) as exc:  # the writer validates; never let one row stop all
            log.error("unit %s has an unreadable registry version: %s", unit_id, exc)
    return units


_UNIT_VERSIONS = """
SELECT argMin(unit_id, seq) AS unit, argMin(data, seq) AS payload,
       toUnixTimestamp64Micro(argMin(time, seq)) AS t_us, min(seq) AS first_seq
FROM events_raw
WHERE type = {type:String}
GROUP BY source, id
"""


def units_at_many(client: Client, ends: Iterable[datetime]) -> dict[datetime, dict[str, UnitInfo]]:
    """:func:`units_at` for several ends from one read of the registry's versions (the
    writer materializes several periods at a time; the registry is a few hundred rows)."""
    versions = client.query(
        _UNIT_VERSIONS, parameters={"type": EventType.UNIT_UPSERTED.value}
    ).result_rows
    result: dict[datetime, dict[str, UnitInfo]] = {}
    for end in ends:
        end_us = to_utc_micros(end)
        latest: dict[str, tuple[tuple[int, int], Any]] = {}
        for unit_id, payload, t_us, first_seq in versions:
            if t_us >= end_us:
                continue
            order = (int(t_us), int(first_seq))
            unit = str(unit_id)
            if unit not in latest or order > latest[unit][0]:
                latest[unit] = (order, payload)
        result[end] = _unit_infos((unit, payload) for unit, (_, payload) in latest.items())
    return result


def measure_sums(
    client: Client, period: Period, flow_measures: Iterable[str]
) -> dict[str, dict[str, float]]:
    """unit_id → measure → sum: flow measures over the period's days, every other measure
    (a stock kept as per-day deltas) over all days before its end."""
    rows = client.query(
        _MEASURE_SUMS,
        parameters={
            "start_day": period.start_day,
            "end_day": period.end_day,
            "flow": sorted(flow_measures),
        },
    ).result_rows
    sums: dict[str, dict[str, float]] = {}
    for unit_id, measure, value in rows:
        sums.setdefault(str(unit_id), {})[str(measure)] = float(value)
    return sums


def measure_sums_many(
    client: Client, periods: Sequence[Period], flow_measures: Iterable[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """``measure_sums`` of several periods from one scan: period id → unit_id → measure → sum."""
    if not periods:
        return {}
    bounds = sorted({p.start_day for p in periods} | {p.end_day for p in periods})
    rows = client.query(
        _SEGMENT_SUMS, parameters={"bounds": bounds, "last": bounds[-1]}
    ).result_rows
    # segment k holds the days in [bounds[k-1], bounds[k]); segment 0 the days before bounds[0]
    segments: dict[tuple[str, str], dict[int, float]] = {}
    for unit_id, measure, segment, value in rows:
        segments.setdefault((str(unit_id), str(measure)), {})[int(segment)] = float(value)
    flow = frozenset(flow_measures)
    index = {day: k for k, day in enumerate(bounds)}
    spans = [(p.id, index[p.start_day] + 1, index[p.end_day]) for p in periods]
    result: dict[str, dict[str, dict[str, float]]] = {p.id: {} for p in periods}
    for (unit_id, measure), by_segment in segments.items():
        values, seen = [0.0] * len(bounds), [0] * len(bounds)
        for k, value in by_segment.items():
            values[k], seen[k] = value, 1
        if measure in flow:
            for period_id, first, last in spans:
                if any(seen[first : last + 1]):
                    result[period_id].setdefault(unit_id, {})[measure] = sum(
                        values[first : last + 1]
                    )
        else:
            totals, known = list(accumulate(values)), list(accumulate(seen))
            for period_id, _, last in spans:
                if known[last]:
                    result[period_id].setdefault(unit_id, {})[measure] = totals[last]
    return result


def score_units(
    config: CriteriaConfig,
    period: Period,
    units: Mapping[str, UnitInfo],
    sums: Mapping[str, Mapping[str, float]],
) -> list[Scorecard]:
    """Scorecards of ``units`` from measure sums, ranked per tier (pure; shared with the
    batch recompute). Units without a registration are never scored."""
    cards = [
        build_scorecard(config, unit, period.id, sums.get(unit_id, {}), period.awardable)
        for unit_id, unit in units.items()
    ]
    for card in cards:  # shown beside the score, never part of it
        card._extra["index_766"] = index766.index_766(sums.get(card.unit.unit_id, {}))
    ranked = rank_by_tier(cards)
    return [card for tier in Tier if tier in ranked for card in ranked[tier]]


def compute_periods(
    client: Client, config: CriteriaConfig, periods: Sequence[Period]
) -> dict[str, list[Scorecard]]:
    """``compute_period`` of several periods, reading the counters once (the writer's path)."""
    sums = measure_sums_many(client, periods, config.flow_measures() | index766.MEASURES)
    registry = units_at_many(client, [p.end for p in periods])
    return {p.id: score_units(config, p, registry[p.end], sums[p.id]) for p in periods}


def compute_period(client: Client, config: CriteriaConfig, period: Period) -> list[Scorecard]:
    """Every unit registered at the period's end, scored and ranked within its tier (inactive
    units get rank None). Ordered by tier, then rank, then inactive units by unit_id."""
    units = units_at(client, period.end)
    sums = measure_sums(client, period, config.flow_measures() | index766.MEASURES)
    return score_units(config, period, units, sums)


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
    client: Client, config: CriteriaConfig, periods: Iterable[Period], computed_at: datetime
) -> dict[str, list[Scorecard]]:
    """Compute ``periods`` and store them in ``kpi_criteria``/``kpi_scores`` (rank 0 =
    unranked). All rows of one run share ``computed_at``: a reader takes a period's rows with
    its latest ``computed_at``, so a unit whose tier changed leaves no stale row behind."""
    results = compute_periods(client, config, list(periods))
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
