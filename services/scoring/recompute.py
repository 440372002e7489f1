"""Batch recompute: every KPI again, in ClickHouse SQL, from ``events_raw`` alone.

An independent implementation of SPEC §3 — it never reads ``kpi_counters`` — so comparing it
with the streaming result (``thidua.store.kpi.compute_period``) checks the Faust processors,
the counters and the writer together. Only the last step, measures → scorecard, is shared
(``thidua.contracts.scorecard``: the scoring rules themselves, pure and unit-tested).

The SQL follows the rules literally, per period ``[start, end)``:
- an event is identified by (source, id): its first acceptance (lowest seq) is the event;
- per entity key the versions compete by (time, seq);
- a flow item counts in the period holding its *winning* version's time;
- a stock is the latest version with ``time < end``; a staff member is trained in a program
  when some completion of it has ``time < end``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from thidua.contracts.criteria import CriteriaConfig, load_criteria
from thidua.contracts.events import EventType, to_utc_micros
from thidua.contracts.periods import Period
from thidua.contracts.scorecard import Scorecard
from thidua.store.kpi import compute_period, score_units, unit_info
from thidua.store.periods_index import standard_periods

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


# SPEC §3 measures per flow type: (unit field, [(measure, condition over the winner w)]).
_FLOWS: dict[EventType, tuple[str, list[tuple[str, str]]]] = {
    EventType.DOSSIER_RECEIVED: (
        "unit_id",
        [
            ("dossier_received", "1"),
            ("dossier_online_full", "JSONExtractString(w, 'channel') = 'online_full'"),
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


def _pairs(measures: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"('{m}', toFloat64({cond}))" for m, cond in measures)


def _flow_sql() -> str:
    parts = [
        f"SELECT JSONExtractString(w, '{unit_field}') AS unit, "
        f"arrayJoin([{_pairs(measures)}]) AS m FROM flow_winners WHERE type = '{event_type.value}'"
        for event_type, (unit_field, measures) in _FLOWS.items()
    ]
    return "\nUNION ALL\n".join(parts)


def measures_sql() -> str:
    """One query: (unit_id, measure, value) for a period, from raw events only."""
    flow_types = ", ".join(f"'{t.value}'" for t in _FLOWS)
    return f"""
WITH
events AS ({_EVENTS}),
flow_winners AS (
    SELECT type, argMax(data, (time, seq)) AS w, max(time) AS won_at
    FROM events WHERE type IN ({flow_types})
    GROUP BY type, entity_key
    HAVING won_at >= {_START} AND won_at < {_END}
),
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
{_flow_sql()}
UNION ALL
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
SELECT data FROM ({_EVENTS})
WHERE type = '{EventType.UNIT_UPSERTED.value}' AND time < {_END}
ORDER BY entity_key, time DESC, seq DESC
LIMIT 1 BY entity_key
"""


def _bounds(period: Period) -> dict[str, Any]:
    return {"start_us": to_utc_micros(period.start), "end_us": to_utc_micros(period.end)}


def recompute_measures(client: Client, period: Period) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, float]] = {}
    for unit_id, measure, value in client.query(
        measures_sql(), parameters=_bounds(period)
    ).result_rows:
        sums.setdefault(str(unit_id), {})[str(measure)] = float(value)
    return sums


def recompute_period(client: Client, config: CriteriaConfig, period: Period) -> list[Scorecard]:
    """The period's scorecards from raw events only (same ordering as ``compute_period``)."""
    units = {}
    for (data,) in client.query(_UNITS_SQL, parameters=_bounds(period)).result_rows:
        try:
            info = unit_info(orjson.loads(data))
        except (ValueError, KeyError):  # skipped by the streaming side too (kpi.units_at)
            continue
        units[info.unit_id] = info
    return score_units(config, period, units, recompute_measures(client, period))


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
    client: Client, config: CriteriaConfig, periods: Iterable[Period]
) -> dict[str, tuple[int, list[Difference]]]:
    """Per period id: (units compared, differences between streaming and batch)."""
    report: dict[str, tuple[int, list[Difference]]] = {}
    for period in periods:
        streaming = compute_period(client, config, period)
        batch = recompute_period(client, config, period)
        units = len({c.unit.unit_id for c in streaming} | {c.unit.unit_id for c in batch})
        report[period.id] = (units, diff_cards(period.id, streaming, batch))
    return report


def compare(client: Client, config: CriteriaConfig, periods: Iterable[Period]) -> list[Difference]:
    """Every difference between the streaming result and the batch recompute ([] = agree)."""
    return [d for _, diffs in compare_report(client, config, periods).values() for d in diffs]


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


def print_report(doc: dict[str, Any]) -> int:
    """Print a :func:`report_json` document; returns its count of differences."""
    for period in doc["periods"]:
        differences = period["differences"]
        print(
            f"{period['period']}: {period['units']} unit(s) compared, "
            f"{len(differences)} difference(s)"
        )
        for d in differences[:20]:
            print(
                f"  {d['unit_id']} {d['field']}: streaming={d['streaming']!r} batch={d['batch']!r}"
            )
        if len(differences) > 20:
            print(f"  … {len(differences) - 20} more")
    total = int(doc["differences"])
    print(f"total: {total} difference(s)")
    return total


def run() -> None:
    """``thidua recompute``: compare every standard period; exit 1 on any difference.

    When another process owns the embedded ClickHouse (the api, in embedded mode), the api
    runs the comparison on its own engine (``POST /v1/recompute``)."""
    from thidua.settings import CommonSettings
    from thidua.store.client import ChdbPathBusy, get_client
    from thidua.store.migrations import migrate

    settings = CommonSettings()
    config = load_criteria(settings.criteria_file)
    try:
        client = get_client(settings.clickhouse_dsn)
    except ChdbPathBusy as exc:
        doc = _through_api(str(exc))
    else:
        try:
            migrate(client, progress=lambda _: None)
            now = datetime.now(UTC)
            doc = report_json(compare_report(client, config, standard_periods(now, config.phase)))
        finally:
            client.close()  # an embedded engine stays open while any handle is
    raise SystemExit(1 if print_report(doc) else 0)


def _through_api(busy: str) -> dict[str, Any]:
    """The api's comparison, on the engine it owns, asked with a write token: the api's first
    (``THIDUA_API_WRITE_TOKENS`` or its file), else the one `thidua up` left in
    ``$THIDUA_VAR_DIR``."""
    import httpx

    from thidua.settings import ApiSettings

    api = ApiSettings()
    host = "127.0.0.1" if api.api_host in ("0.0.0.0", "::") else api.api_host
    url = f"http://{host}:{api.api_port}/v1/recompute"
    known = api.write_tokens()
    token = known[0] if known else api.local_write_token()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    print(f"recompute: {busy}; asking the api at {url} …", file=sys.stderr)
    try:
        response = httpx.post(url, headers=headers, timeout=httpx.Timeout(10.0, read=3600.0))
    except httpx.HTTPError as exc:
        print(f"recompute: the api did not answer ({exc})", file=sys.stderr)
        raise SystemExit(2) from exc
    if response.status_code != 200:
        print(f"recompute: the api said {response.status_code}: {response.text}", file=sys.stderr)
        raise SystemExit(2)
    doc: dict[str, Any] = response.json()
    return doc
