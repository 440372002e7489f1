"""The portal's procedure catalogue (thủ tục hành chính) → ``procedure.upserted``.

Fields as the national portal names them in its procedure answers ([OCPS]
``DVCQGIntegrationActionTerm``: ``MATTHC``/``MaTTHC``, ``COQUANTHUCHIEN[].MADONVI``) and as
one-stop-shop systems keep them ([CS] ``MucDo`` on the procedure guide), read case-blind:

=====================  ====================  ==============================================
portal field           canonical field       rule
=====================  ====================  ==============================================
MaTTHC                 procedure_id          as is
MaCoQuan / MADONVI /   unit_id               the first that is a unit's code in the registry
COQUANTHUCHIEN[0]                            (``organ_ids``); none → 422 naming it
.MADONVI / madonvi
MucDo                  full_online           4 (DVCTT toàn trình) → true; 2, 3 → false
DuDieuKienToanTrinh    full_online_eligible  0/1; absent → true (every procedure is in C01's
                                             denominator unless the catalogue says it is not
                                             eligible)
CoTrenDiDong           mobile                0/1; absent → false. No public implementation
                                             carries mobile availability: this field is ours
NgayCapNhat            time                  yyyyMMddHHmmss at +07:00; absent → received now
=====================  ====================  ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.ingest.cloudevents import PendingEvent, Problem
from services.ingest.dvcqg import LOCAL, Invalid, code, moment, text, version_id
from thidua.contracts.events import EventType, validate_data

_TYPE = EventType.PROCEDURE_UPSERTED
_EARLIEST = datetime(2000, 1, 1, tzinfo=LOCAL)


@dataclass(frozen=True, slots=True)
class Procedure:
    index: int
    procedure_id: str
    unit_codes: tuple[str, ...]
    full_online: bool
    eligible: bool
    mobile: bool
    time: datetime | None


def _upper(item: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).upper(): v for k, v in item.items()}


def read_procedure(index: int, item: Any, body_unit: str) -> Procedure:
    if not isinstance(item, dict):
        raise Invalid("a procedure must be a JSON object")
    fields = _upper(item)
    procedure_id = text(fields, "MATTHC")
    level = code(fields, "MUCDO", range(1, 5))
    units = [text(fields, "MACOQUAN", required=False), text(fields, "MADONVI", required=False)]
    agencies = fields.get("COQUANTHUCHIEN")
    if isinstance(agencies, list) and agencies and isinstance(agencies[0], dict):
        units.append(text(_upper(agencies[0]), "MADONVI", required=False))
    units.append(body_unit)
    unit_codes = tuple(dict.fromkeys(u for u in units if u))
    if not unit_codes:
        raise Invalid("MaCoQuan (the unit's code) is required")
    eligible = code(fields, "DUDIEUKIENTOANTRINH", range(0, 2), required=False)
    mobile = code(fields, "COTRENDIDONG", range(0, 2), required=False) == 1
    return Procedure(
        index,
        procedure_id,
        unit_codes,
        full_online=level == 4,
        eligible=eligible != 0,
        mobile=mobile,
        time=moment(fields, "NGAYCAPNHAT"),
    )


def read_procedures(
    items: Sequence[Any], body_unit: str = ""
) -> tuple[list[Procedure], list[Problem]]:
    procedures = []
    problems = []
    for index, item in enumerate(items):
        try:
            procedures.append(read_procedure(index, item, body_unit))
        except Invalid as exc:
            problems.append(Problem(index, str(exc), _TYPE.value))
    return procedures, problems


def to_events(
    procedures: Sequence[Procedure],
    organ_units: Mapping[str, str],
    source: str,
    now: datetime | None = None,
) -> tuple[list[PendingEvent], list[Problem]]:
    received = now or datetime.now(UTC)
    events = []
    problems = []
    for procedure in procedures:
        unit = next((organ_units[c] for c in procedure.unit_codes if c in organ_units), None)
        time = procedure.time or received
        if unit is None:
            problems.append(
                Problem(procedure.index, f"unknown unit code {procedure.unit_codes[0][:100]!r}")
            )
            continue
        if time < _EARLIEST or time > received + timedelta(hours=24):
            problems.append(Problem(procedure.index, "NgayCapNhat is out of range"))
            continue
        data = validate_data(
            _TYPE,
            {
                "procedure_id": procedure.procedure_id,
                "unit_id": unit,
                "full_online_eligible": procedure.eligible,
                "full_online": procedure.full_online,
                "mobile": procedure.mobile,
            },
        )
        key = f"{procedure.procedure_id}@{time.astimezone(UTC).isoformat()}"
        events.append(PendingEvent(source, version_id(key, data), _TYPE, time, data))
    return events, problems
