"""What is behind a scorecard figure: the entities one criterion counted for one unit and
period, read from ``events_raw`` by the rules of the batch recompute (SPEC §3), so they add up
to the scorecard's numerator and denominator exactly.

Per entity: its id, the winning version's event time, source and id, how many versions it had
(all but the winner superseded), the fields that decided whether it counts, and whether it is
in the numerator and the denominator. The conditions are the batch recompute's own
(``thidua.store.recompute``), not restated here, and so is the attribution of SPEC §7.2: an
item counts for the owner of its unit (the unit, or its successor once it is closed) on the
item's day — a flow's winning version's local day, a stock's last day before the unit's end.
The SQL reads the candidates (the unit and every unit whose data may count for it); the
registry decides which of them count (:func:`attributed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from thidua.contracts.criteria import Criterion
from thidua.contracts.events import EventType
from thidua.contracts.periods import LOCAL_TZ, Period
from thidua.contracts.registry import Registry
from thidua.store.kpi import read_registry
from thidua.store.recompute import CONDITIONS, bounds

_START = "fromUnixTimestamp64Micro({start_us:Int64}, 'UTC')"
_END = "fromUnixTimestamp64Micro({end_us:Int64}, 'UTC')"

# The fields shown as deciding, per type, and the entity's id field.
_DECIDING: dict[EventType, tuple[str, tuple[str, ...]]] = {
    EventType.DOSSIER_RECEIVED: ("dossier_id", ("channel", "procedure_id")),
    EventType.DOSSIER_RATED: ("dossier_id", ("satisfied",)),
    EventType.DOCUMENT_SENT: ("document_id", ("confidential", "electronic", "digitally_signed")),
    EventType.WORKFILE_CLOSED: ("workfile_id", ("secret", "online", "digitally_signed")),
    EventType.REPORT_SUBMITTED: ("report_id", ("via_shared_system",)),
    EventType.INSPECTION_COMPLETED: ("inspection_id", ("digital",)),
    EventType.PROCEDURE_UPSERTED: (
        "procedure_id",
        ("full_online_eligible", "full_online", "mobile"),
    ),
    EventType.STAFF_UPSERTED: ("staff_id", ("category", "active", "digital_id")),
    EventType.INDICATOR_OBSERVED: ("indicator", ("numerator", "denominator")),
}
PARTS = ("all", "numerator", "denominator", "denominator_only")


@dataclass(frozen=True)
class EvidenceItem:
    id: str
    unit_id: str  # the unit the winning version names (a closed unit's items: its own id)
    time: datetime
    source: str
    event_id: str
    versions: int
    fields: dict[str, Any]
    in_numerator: bool
    in_denominator: bool
    numerator: float  # what it adds: 1 for an entity, the observed figure for an indicator
    denominator: float

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
            "source": self.source,
            "event_id": self.event_id,
            "versions": self.versions,
            "superseded": self.versions - 1,
            "unit_id": self.unit_id,
            "fields": self.fields,
            "in_numerator": self.in_numerator,
            "in_denominator": self.in_denominator,
        }


def unit_condition(column: str) -> str:
    """The SQL condition that ``column`` (a unit id) is one of the candidates: the unit asked
    for and the units whose data may count for it (SPEC §7.2)."""
    return f"{column} IN {{units:Array(String)}}"


def candidates(registry: Registry, unit_id: str) -> list[str]:
    """``unit_id`` and every unit whose data counts for it on some day."""
    sources = {src for src, _lo, _hi, owner in registry.ownership_intervals() if owner == unit_id}
    return sorted({unit_id, *sources})


def attributed(
    registry: Registry, unit_id: str, items: Sequence[EvidenceItem], stock_day: date | None
) -> list[EvidenceItem]:
    """The items that count for ``unit_id``: their unit's owner on the item's day is it (a
    flow: its winning version's local day; a stock: ``stock_day``)."""
    return [
        item
        for item in items
        if registry.owner(item.unit_id, stock_day or item.time.astimezone(LOCAL_TZ).date())
        == unit_id
    ]


def _winners_sql(event_type: EventType, flow: bool, unit_column: str) -> str:
    """Per entity of ``event_type`` ever touching the unit: the winning version (flows: its
    time in the period; stocks: the latest before the end) and how many versions it had."""
    window = f"HAVING won_at >= {_START} AND won_at < {_END}" if flow else ""
    before_end = "" if flow else f"AND time < {_END}"
    return f"""
keys AS (
    SELECT DISTINCT entity_key FROM events_raw
    WHERE type = '{event_type.value}' AND {unit_condition("unit_id")}
),
events AS (
    SELECT type, entity_key, time, seq, data, source, id FROM events_raw
    WHERE (source, id) IN (
        SELECT source, id FROM events_raw
        WHERE type = '{event_type.value}' AND entity_key IN keys
    )
    ORDER BY source, id, seq LIMIT 1 BY source, id
),
winners AS (
    SELECT entity_key, argMax(data, (time, seq)) AS w, max(time) AS won_at,
           argMax(source, (time, seq)) AS won_source, argMax(id, (time, seq)) AS won_id,
           count() AS versions
    FROM events
    WHERE type = '{event_type.value}' AND entity_key IN keys {before_end}
    GROUP BY entity_key
    {window}
),
mine AS (
    SELECT * FROM winners WHERE {unit_condition(f"JSONExtractString(w, '{unit_column}')")}
)"""


def _event_sql(event_type: EventType, flow: bool, num: str, den: str) -> str:
    unit_column = "from_unit" if event_type is EventType.DOCUMENT_SENT else "unit_id"
    return f"""
WITH {_winners_sql(event_type, flow, unit_column)}
SELECT entity_key, won_at, won_source, won_id, versions, w, 1.0, 1.0,
       toUInt8({num}) AS in_num, toUInt8({den}) AS in_den, CAST([], 'Array(String)'),
       JSONExtractString(w, '{unit_column}')
FROM mine WHERE in_num OR in_den
ORDER BY won_at, entity_key
"""


def _staff_sql(num: str, den: str) -> str:
    training = EventType.TRAINING_COMPLETED.value
    return f"""
WITH {_winners_sql(EventType.STAFF_UPSERTED, False, "unit_id")},
staff AS (
    SELECT *, JSONExtractString(w, 'staff_id') AS staff_id,
           JSONExtractString(w, 'category') AS category,
           JSONExtractBool(w, 'digital_id') AS digital_id, JSONExtractBool(w, 'active') AS active
    FROM mine
),
trained AS (
    SELECT JSONExtractString(data, 'staff_id') AS staff_id,
           groupUniqArray(JSONExtractString(data, 'program')) AS programs
    FROM (
        SELECT type, time, data FROM events_raw
        WHERE type = '{training}' AND (source, id) IN (
            SELECT source, id FROM events_raw WHERE type = '{training}'
            AND JSONExtractString(data, 'staff_id') IN (SELECT staff_id FROM staff)
        )
        ORDER BY source, id, seq LIMIT 1 BY source, id
    )
    WHERE type = '{training}' AND time < {_END}
    GROUP BY staff_id
)
SELECT entity_key, won_at, won_source, won_id, versions, w, 1.0, 1.0,
       toUInt8({num}) AS in_num, toUInt8({den}) AS in_den, arraySort(programs),
       JSONExtractString(w, 'unit_id')
FROM staff LEFT JOIN trained USING (staff_id)
WHERE in_num OR in_den
ORDER BY won_at, entity_key
"""


def _indicator_sql(criterion_id: str) -> str:
    return f"""
WITH {_winners_sql(EventType.INDICATOR_OBSERVED, False, "unit_id")}
SELECT entity_key, won_at, won_source, won_id, versions, w,
       JSONExtractFloat(w, 'numerator'), JSONExtractFloat(w, 'denominator'), 1, 1,
       CAST([], 'Array(String)'), JSONExtractString(w, 'unit_id')
FROM mine WHERE JSONExtractString(w, 'indicator') = '{criterion_id}'
"""


def query(
    client: Client, criterion: Criterion, tier: Any, unit_id: str, period: Period
) -> list[EvidenceItem]:
    """Every entity ``criterion`` counted for ``unit_id`` in ``period`` (stocks as of the
    unit's end in it: the period's end, or its closing day)."""
    registry = read_registry(client)  # the unit events only: a few hundred rows
    standing = registry.standing(unit_id, period)
    until = standing.until if standing is not None else period.end_day
    if criterion.source == "indicator":
        event_type = EventType.INDICATOR_OBSERVED
        sql = _indicator_sql(criterion.id)
    else:
        num_measure, den_measure = criterion.measures(tier)
        event_type, num = CONDITIONS[num_measure]
        _, den = CONDITIONS[den_measure]
        if event_type is EventType.STAFF_UPSERTED:
            sql = _staff_sql(num, den)
        else:
            sql = _event_sql(event_type, criterion.kind == "flow", num, den)
    flow = criterion.kind == "flow"
    parameters = {
        **bounds(period.start_day, period.end_day if flow else until),
        "units": candidates(registry, unit_id),
    }
    rows = client.query(sql, parameters=parameters).result_rows
    items = [_item(event_type, row) for row in rows]
    return attributed(registry, unit_id, items, None if flow else until - timedelta(days=1))


def _item(event_type: EventType, row: Sequence[Any]) -> EvidenceItem:
    key, won_at, source, event_id, versions, raw, num, den, in_num, in_den, trained, unit = row
    data = orjson.loads(raw)
    id_field, deciding = _DECIDING[event_type]
    fields = {name: data.get(name) for name in deciding}
    if event_type is EventType.STAFF_UPSERTED:
        fields["trained"] = list(trained)
    moment = won_at if won_at.tzinfo else won_at.replace(tzinfo=UTC)
    return EvidenceItem(
        id=str(data.get(id_field) or key),
        unit_id=str(unit),
        time=moment,
        source=str(source),
        event_id=str(event_id),
        versions=int(versions),
        fields=fields,
        in_numerator=bool(in_num),
        in_denominator=bool(in_den),
        numerator=float(num) if bool(in_num) else 0.0,
        denominator=float(den) if bool(in_den) else 0.0,
    )


def totals(items: Sequence[EvidenceItem]) -> tuple[float, float]:
    return sum(i.numerator for i in items), sum(i.denominator for i in items)


def select(items: Sequence[EvidenceItem], part: str) -> list[EvidenceItem]:
    if part == "numerator":
        return [i for i in items if i.in_numerator]
    if part == "denominator":
        return [i for i in items if i.in_denominator]
    if part == "denominator_only":
        return [i for i in items if i.in_denominator and not i.in_numerator]
    return list(items)
