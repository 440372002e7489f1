"""Batch recompute: every KPI again, in ClickHouse SQL, from ``events_raw`` alone.

An independent implementation of SPEC §3 — it never reads ``kpi_counters`` — so comparing it
with the streaming result (``thidua.store.kpi.compute_period``) checks the Faust processors,
the counters and the writer together. Only the last step, measures → scorecard, is shared
(``thidua.contracts.scorecard``: the scoring rules themselves, pure and unit-tested).

The SQL follows the rules literally, per period ``[start, end)``:
- an event is identified by (source, id): its first acceptance (lowest seq) is the event;
- per entity key the versions compete by (time, seq);
- a flow item counts in the period holding its *winning* version's time, for the owner of its
  unit on that local day (SPEC §7.2: the unit, or its successor once it is closed), the owners
  passed to the query as intervals;
- a stock is the latest version with ``time < end`` (for a unit that closed inside the period,
  ``end`` is its closing day); a staff member is trained in a program when some completion of
  it has ``time < end``; the stock counts for its unit's owner as of then.
Who stands in a period, and whom a unit's data counts for, come from the registry's versions
through the pure ``thidua.contracts.registry`` (read here with a query of its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import sleep
from typing import Any

from clickhouse_connect.driver.client import Client

from thidua.contracts.events import EventType, to_utc_micros
from thidua.contracts.index766 import RATES
from thidua.contracts.periods import LOCAL_TZ, Period
from thidua.contracts.plans import Plans
from thidua.contracts.registry import Registry, Standing
from thidua.contracts.scorecard import Scorecard
from thidua.store.kpi import compute_period, score_units, unit_versions

TOLERANCE = 1e-9

# First acceptance of each (source, id), written differently from kpi.units_at on purpose.
_EVENTS = """
    SELECT type, entity_key, time, seq, data FROM events_raw
    ORDER BY source, id, seq LIMIT 1 BY source, id
"""
_START = "fromUnixTimestamp64Micro({start_us:Int64}, 'UTC')"
_END = "fromUnixTimestamp64Micro({end_us:Int64}, 'UTC')"


def _flag(field: str) -> str:
    return f"JSONExtractBool(w, '{field}')"


def _known(field: str) -> str:
    """The optional field is a JSON boolean (absent or null: the source did not say)."""
    return f"JSONType(w, '{field}') = 'Bool'"


# "Chỉ số 766 (tham khảo)" (thidua/contracts/index766.py): shown, never scored.
_INDEX_766 = [
    ("dossier_766_finished", _known("on_time")),
    ("dossier_766_on_time", f"{_known('on_time')} AND {_flag('on_time')}"),
    ("dossier_766_digitised_known", _known("digitised")),
    ("dossier_766_digitised", f"{_known('digitised')} AND {_flag('digitised')}"),
    ("dossier_766_fee_due", _known("paid_online")),
    ("dossier_766_paid_online", f"{_known('paid_online')} AND {_flag('paid_online')}"),
]

# SPEC §3 measures per flow type: (unit field, [(measure, condition over the winner w)]).
_FLOWS: dict[EventType, tuple[str, list[tuple[str, str]]]] = {
    EventType.DOSSIER_RECEIVED: (
        "unit_id",
        [
            ("dossier_received", "1"),
            ("dossier_online_full", "JSONExtractString(w, 'channel') = 'online_full'"),
            *_INDEX_766,
        ],
    ),
    EventType.DOSSIER_RATED: (
        "unit_id",
        [("rating", "1"), ("rating_satisfied", _flag("satisfied"))],
    ),
    EventType.DOCUMENT_SENT: (
        "from_unit",
        [
            ("document_non_confidential", f"NOT {_flag('confidential')}"),
            (
                "document_electronic_signed",
                f"NOT {_flag('confidential')} AND {_flag('electronic')} AND "
                f"{_flag('digitally_signed')}",
            ),
        ],
    ),
    EventType.WORKFILE_CLOSED: (
        "unit_id",
        [
            ("workfile_non_secret", f"NOT {_flag('secret')}"),
            ("workfile_online", f"NOT {_flag('secret')} AND {_flag('online')}"),
            (
                "workfile_online_signed",
                f"NOT {_flag('secret')} AND {_flag('online')} AND {_flag('digitally_signed')}",
            ),
        ],
    ),
    EventType.REPORT_SUBMITTED: (
        "unit_id",
        [("report", "1"), ("report_via_shared_system", _flag("via_shared_system"))],
    ),
    EventType.INSPECTION_COMPLETED: (
        "unit_id",
        [("inspection", "1"), ("inspection_digital", _flag("digital"))],
    ),
}

_PROCEDURE = [
    ("procedure_eligible", _flag("full_online_eligible")),
    (
        "procedure_eligible_full_online",
        f"{_flag('full_online_eligible')} AND {_flag('full_online')}",
    ),
    (
        "procedure_eligible_full_online_mobile",
        f"{_flag('full_online_eligible')} AND {_flag('full_online')} AND {_flag('mobile')}",
    ),
]

_CBCCVC = "active AND category IN ('civil_servant', 'public_employee')"
_STAFF = [
    ("civil_servant_active", "active AND category = 'civil_servant'"),
    ("civil_servant_digital_id", "active AND category = 'civil_servant' AND digital_id"),
    ("cbccvc_active", _CBCCVC),
    ("cbccvc_trained_basic_digital_skills", f"{_CBCCVC} AND has(programs, 'basic_digital_skills')"),
    ("cbccvc_trained_data_analytics", f"{_CBCCVC} AND has(programs, 'data_analytics')"),
]

# Each measure's event type and SQL condition over the winning version ``w`` (the api's
# evidence lists the events behind a figure with the same conditions).
CONDITIONS: dict[str, tuple[EventType, str]] = {
    **{m: (t, c) for t, (_, pairs) in _FLOWS.items() for m, c in pairs},
    **{m: (EventType.PROCEDURE_UPSERTED, c) for m, c in _PROCEDURE},
    **{m: (EventType.STAFF_UPSERTED, c) for m, c in _STAFF},
}


def _pairs(measures: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"('{m}', toFloat64({cond}))" for m, cond in measures)


def _flow_sql() -> str:
    parts = [
        f"SELECT JSONExtractString(w, '{unit_field}') AS unit, "
        f"toDate(won_at, '{LOCAL_TZ.key}') AS day, "
        f"arrayJoin([{_pairs(measures)}]) AS m FROM flow_winners WHERE type = '{event_type.value}'"
        for event_type, (unit_field, measures) in _FLOWS.items()
    ]
    return "\nUNION ALL\n".join(parts)


def flows_sql() -> str:
    """(owner, measure, value) of a period's flows from raw events only; ``src``/``lo``/``hi``/
    ``dst``: the units whose data of days [lo, hi) counts for ``dst`` instead."""
    flow_types = ", ".join(f"'{t.value}'" for t in _FLOWS)
    return f"""
WITH
events AS ({_EVENTS}),
flow_winners AS (
    SELECT type, argMax(data, (time, seq)) AS w, max(time) AS won_at
    FROM events WHERE type IN ({flow_types})
    GROUP BY type, entity_key
    HAVING won_at >= {_START} AND won_at < {_END}
)
SELECT if(k = 0, unit, {{dst:Array(String)}}[k]) AS owner, m.1 AS measure, sum(m.2) AS value
FROM (
    SELECT unit, m, arrayFirstIndex(
        i -> {{src:Array(String)}}[i] = unit AND day >= {{lo:Array(Date)}}[i]
             AND day < {{hi:Array(Date)}}[i],
        arrayEnumerate({{src:Array(String)}})) AS k
    FROM ({_flow_sql()})
)
GROUP BY owner, measure
"""


def stocks_sql() -> str:
    """(unit, measure, value) of every stock just before ``end``, from raw events only."""
    return f"""
WITH
events AS ({_EVENTS}),
at_end AS (
    SELECT type, argMax(data, (time, seq)) AS w
    FROM events
    WHERE type IN ('{EventType.PROCEDURE_UPSERTED.value}', '{EventType.STAFF_UPSERTED.value}',
                   '{EventType.INDICATOR_OBSERVED.value}') AND time < {_END}
    GROUP BY type, entity_key
),
trained AS (
    SELECT JSONExtractString(data, 'staff_id') AS staff_id,
           groupUniqArray(JSONExtractString(data, 'program')) AS programs
    FROM events WHERE type = '{EventType.TRAINING_COMPLETED.value}' AND time < {_END}
    GROUP BY staff_id
),
staff AS (
    SELECT JSONExtractString(w, 'staff_id') AS staff_id, JSONExtractString(w, 'unit_id') AS unit,
           JSONExtractString(w, 'category') AS category, {_flag("digital_id")} AS digital_id,
           {_flag("active")} AS active
    FROM at_end WHERE type = '{EventType.STAFF_UPSERTED.value}'
)
SELECT unit, m.1 AS measure, sum(m.2) AS value FROM (
SELECT JSONExtractString(w, 'unit_id') AS unit, arrayJoin([{_pairs(_PROCEDURE)}]) AS m
FROM at_end WHERE type = '{EventType.PROCEDURE_UPSERTED.value}'
UNION ALL
SELECT unit, arrayJoin([{_pairs(_STAFF)}]) AS m
FROM staff LEFT JOIN trained USING (staff_id)
UNION ALL
SELECT unit, arrayJoin([(concat(ind, '.num'), num), (concat(ind, '.den'), den)]) AS m FROM (
    SELECT JSONExtractString(w, 'unit_id') AS unit,
           concat('indicator.', JSONExtractString(w, 'indicator')) AS ind,
           JSONExtractFloat(w, 'numerator') AS num, JSONExtractFloat(w, 'denominator') AS den
    FROM at_end WHERE type = '{EventType.INDICATOR_OBSERVED.value}'
)
)
GROUP BY unit, measure
"""


_UNITS_SQL = f"""
SELECT data, toUnixTimestamp64Micro(time), seq FROM ({_EVENTS})
WHERE type = '{EventType.UNIT_UPSERTED.value}'
"""


def _micros(day: date) -> int:
    return to_utc_micros(datetime.combine(day, time.min, LOCAL_TZ))


def recompute_registry(client: Client) -> Registry:
    return Registry(unit_versions(client.query(_UNITS_SQL).result_rows))


def _intervals(registry: Registry) -> dict[str, list[Any]]:
    """The owners as intervals, for :func:`flows_sql`'s parameters."""
    src, lo, hi, dst = [], [], [], []
    for unit_id, first, until, owner in registry.ownership_intervals():
        src.append(unit_id)
        lo.append(first)
        hi.append(until)
        dst.append(owner)
    return {"src": src, "lo": lo, "hi": hi, "dst": dst}


def recompute_measures(
    client: Client, registry: Registry, period: Period, standings: dict[str, Standing]
) -> dict[str, dict[str, float]]:
    """unit → measure → value for every unit standing in ``period``."""
    flows: dict[str, dict[str, float]] = {}
    parameters = {**bounds(period.start_day, period.end_day), **_intervals(registry)}
    for owner, measure, value in client.query(flows_sql(), parameters=parameters).result_rows:
        flows.setdefault(str(owner), {})[str(measure)] = float(value)
    stocks: dict[date, dict[str, dict[str, float]]] = {}
    for until in sorted({s.until for s in standings.values()}):
        at = stocks[until] = {}
        rows = client.query(stocks_sql(), parameters=bounds(until, until)).result_rows
        on = until - timedelta(days=1)
        for unit, measure, value in rows:
            into = at.setdefault(registry.owner(str(unit), on), {})
            into[str(measure)] = into.get(str(measure), 0.0) + float(value)
    return {
        unit_id: {**stocks[s.until].get(unit_id, {}), **flows.get(unit_id, {})}
        for unit_id, s in standings.items()
    }


def bounds(start: date, end: date) -> dict[str, Any]:
    return {"start_us": _micros(start), "end_us": _micros(end)}


def recompute_period(client: Client, plans: Plans, period: Period) -> list[Scorecard]:
    """The period's scorecards from raw events only (same ordering as ``compute_period``)."""
    registry = recompute_registry(client)
    standings = registry.standings(period)
    sums = recompute_measures(client, registry, period, standings)
    return score_units(plans.for_period(period), period, standings, sums)


# --- comparison ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    period: str
    unit_id: str
    field: str  # "unit", "score", "rank", "C03.numerator", …
    streaming: object
    batch: object


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOLERANCE
    return a == b


def _card_fields(card: Scorecard) -> dict[str, object]:
    fields: dict[str, object] = {
        "unit": card.unit,
        "score": card.score,
        "rank": card.rank,
        "criteria_met": card.criteria_met,
        "no_data": card.no_data,
        "award_eligible": card.award_eligible,
    }
    for result in card.criteria:
        fields[f"{result.id}.numerator"] = result.numerator
        fields[f"{result.id}.denominator"] = result.denominator
        fields[f"{result.id}.value"] = result.value
        fields[f"{result.id}.met"] = result.met
    index = card._extra.get("index_766")
    if isinstance(index, dict):  # shown beside the score: streaming and batch must agree too
        for rate in RATES:
            fields[f"766.{rate}.numerator"] = index[rate]["numerator"]
            fields[f"766.{rate}.denominator"] = index[rate]["denominator"]
    return fields


def diff_cards(
    period: str, streaming: Iterable[Scorecard], batch: Iterable[Scorecard]
) -> list[Difference]:
    left = {c.unit.unit_id: c for c in streaming}
    right = {c.unit.unit_id: c for c in batch}
    differences = []
    for unit_id in sorted(left.keys() | right.keys()):
        if unit_id not in left or unit_id not in right:
            differences.append(
                Difference(period, unit_id, "present", unit_id in left, unit_id in right)
            )
            continue
        a, b = _card_fields(left[unit_id]), _card_fields(right[unit_id])
        for name in sorted(a.keys() | b.keys()):
            if not _same(a.get(name), b.get(name)):
                differences.append(Difference(period, unit_id, name, a.get(name), b.get(name)))
    return differences


def compare_report(
    client: Client,
    plans: Plans,
    periods: Iterable[Period],
    settle: Sequence[float] = (),
) -> dict[str, tuple[int, list[Difference]]]:
    """Per period id: (units compared, differences between streaming and batch).

    On a live stack a raw event is stored a moment before the counters scoring derives from
    it (two topics): a period compared in between differs for that moment. With ``settle``
    (seconds), a period that differs is compared again after each wait; only a difference that
    persists through them is reported. Tests pass none: every difference counts."""
    chosen = list(periods)
    report = {period.id: _compare(client, plans, period) for period in chosen}
    for wait in settle:
        differing = [p for p in chosen if report[p.id][1]]
        if not differing:
            break
        sleep(wait)
        report.update({period.id: _compare(client, plans, period) for period in differing})
    return report


def _compare(client: Client, plans: Plans, period: Period) -> tuple[int, list[Difference]]:
    streaming = compute_period(client, plans, period)
    batch = recompute_period(client, plans, period)
    units = len({c.unit.unit_id for c in streaming} | {c.unit.unit_id for c in batch})
    return units, diff_cards(period.id, streaming, batch)


# A live stack settles within seconds (the writer's ``writer_batch_seconds``, then scoring's
# freshness: the README's benchmark table).
LIVE_SETTLE = (2.0, 4.0, 8.0)


def compare(client: Client, plans: Plans, periods: Iterable[Period]) -> list[Difference]:
    """Every difference between the streaming result and the batch recompute ([] = agree)."""
    return [d for _, diffs in compare_report(client, plans, periods).values() for d in diffs]


def report_json(report: dict[str, tuple[int, list[Difference]]]) -> dict[str, Any]:
    """``compare_report``'s result as JSON (the api's ``POST /v1/recompute`` answer)."""
    return {
        "periods": [
            {
                "period": period_id,
                "units": units,
                "differences": [
                    {
                        "unit_id": d.unit_id,
                        "field": d.field,
                        "streaming": _plain(d.streaming),
                        "batch": _plain(d.batch),
                    }
                    for d in differences
                ],
            }
            for period_id, (units, differences) in report.items()
        ],
        "differences": sum(len(differences) for _, differences in report.values()),
    }


def _plain(value: object) -> object:
    """A JSON value as it is; anything else (a unit's registry entry) as its repr."""
    return value if isinstance(value, bool | int | float | str | None) else repr(value)
