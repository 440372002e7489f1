"""Canonical events of SPEC §4, defined once and used by ingest, scoring and tests.

A *canonical event* is a validated CloudEvent whose ``data`` matches its ``type``, plus the
``seq`` that ingest stamps when it accepts it (the "accepted later" order of SPEC §3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

Id = Annotated[str, Field(min_length=1, max_length=200)]

# A unit id must be addressable as a path segment (/v1/units/{unit_id}/scorecard): no '/', '?',
# '#', '%', spaces or dot-segments. The shipped registry (config/units-tuyen-quang.yaml) and the
# simulator use ids like ``tq-so-noi-vu``.
UNIT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
UnitId = Annotated[str, Field(pattern=UNIT_ID_PATTERN)]

# SPEC §7.3: an accepted event must be scorable. Times before 2000 or more than a day after
# arrival would fall outside the stores' ranges (or be typos) and be dropped downstream.
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=7)))
MAX_AHEAD_OF_ARRIVAL = timedelta(hours=24)
# Indicator observations are 1/1 or 0/1; the bound keeps every sum finite in Float64.
MAX_OBSERVATION = 1e12


def time_problem(moment: datetime, received_at: datetime) -> str | None:
    """Why ingest must refuse an event ``time`` (SPEC §7.3), or None when it is acceptable."""
    if moment < EARLIEST_EVENT_TIME:
        return f"time {moment.isoformat()} is before 2000-01-01T00:00:00+07:00"
    if moment > received_at + MAX_AHEAD_OF_ARRIVAL:
        return f"time {moment.isoformat()} is more than 24 h after its arrival"
    return None


class EventType(StrEnum):
    UNIT_UPSERTED = "vn.thidua.unit.upserted"
    STAFF_UPSERTED = "vn.thidua.staff.upserted"
    PROCEDURE_UPSERTED = "vn.thidua.dvc.procedure.upserted"
    DOSSIER_RECEIVED = "vn.thidua.dvc.dossier.received"
    DOSSIER_RATED = "vn.thidua.dvc.dossier.rated"
    DOCUMENT_SENT = "vn.thidua.edoc.document.sent"
    WORKFILE_CLOSED = "vn.thidua.edoc.workfile.closed"
    REPORT_SUBMITTED = "vn.thidua.edoc.report.submitted"
    INSPECTION_COMPLETED = "vn.thidua.edoc.inspection.completed"
    TRAINING_COMPLETED = "vn.thidua.training.completed"
    INDICATOR_OBSERVED = "vn.thidua.indicator.observed"


class Tier(StrEnum):
    PROVINCE_AGENCY = "province_agency"
    DISTRICT = "district"
    COMMUNE = "commune"
    ENTERPRISE = "enterprise"


class StaffCategory(StrEnum):
    CIVIL_SERVANT = "civil_servant"
    PUBLIC_EMPLOYEE = "public_employee"
    WORKER = "worker"


class Channel(StrEnum):
    ONLINE_FULL = "online_full"
    ONLINE_PARTIAL = "online_partial"
    DIRECT = "direct"
    POSTAL = "postal"


class Program(StrEnum):
    BASIC_DIGITAL_SKILLS = "basic_digital_skills"
    DATA_ANALYTICS = "data_analytics"


# Strict models refuse a plain "online_full" for an enum field (they want the enum object),
# but events arrive as JSON dicts: enum fields take their string values, nothing else.
TierValue = Annotated[Tier, Field(strict=False)]
StaffCategoryValue = Annotated[StaffCategory, Field(strict=False)]
ChannelValue = Annotated[Channel, Field(strict=False)]
ProgramValue = Annotated[Program, Field(strict=False)]
# A JSON string with an offset (RFC 3339), as events carry times.
AwareDatetimeValue = Annotated[AwareDatetime, Field(strict=False)]


class _Data(BaseModel):
    # Source systems must send exactly the contract: unknown fields are kept out of scoring,
    # mistyped ones are rejected (a JSON "true" string is not a boolean).
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class UnitUpserted(_Data):
    unit_id: UnitId
    name: Annotated[str, Field(min_length=1, max_length=500)]
    tier: TierValue
    parent_id: UnitId | None = None
    block: Annotated[str, Field(max_length=200)] | None = None
    organ_ids: list[Id] = Field(default_factory=list)
    successor_id: UnitId | None = None
    active: StrictBool


class StaffUpserted(_Data):
    staff_id: Id
    unit_id: UnitId
    category: StaffCategoryValue
    digital_id: StrictBool
    active: StrictBool


class ProcedureUpserted(_Data):
    procedure_id: Id
    unit_id: UnitId
    full_online_eligible: StrictBool
    full_online: StrictBool
    mobile: StrictBool


class DossierReceived(_Data):
    dossier_id: Id
    unit_id: UnitId
    procedure_id: Id
    channel: ChannelValue
    # Optional, for the national 766 index shown beside the score (never scored); absent
    # (None) when the source does not say. Set by the DVCQG adapter (services/ingest/dvcqg.py).
    due_at: AwareDatetimeValue | None = None  # NgayHenTra
    finished_at: AwareDatetimeValue | None = None  # end of processing, supplement pauses off
    on_time: StrictBool | None = None  # finished_at <= due_at (766 rule 2.1); None: not known
    digitised: StrictBool | None = None  # has a digitised component (766 rule 4.3)
    paid_online: StrictBool | None = None  # fee paid online; None: no fee due (766 rule 3.6)


class DossierRated(_Data):
    dossier_id: Id
    unit_id: UnitId
    satisfied: StrictBool


class DocumentSent(_Data):
    document_id: Id
    from_unit: UnitId
    to_units: list[UnitId]
    electronic: StrictBool
    digitally_signed: StrictBool
    confidential: StrictBool


class WorkfileClosed(_Data):
    workfile_id: Id
    unit_id: UnitId
    online: StrictBool
    digitally_signed: StrictBool
    secret: StrictBool


class ReportSubmitted(_Data):
    report_id: Id
    unit_id: UnitId
    via_shared_system: StrictBool


class InspectionCompleted(_Data):
    inspection_id: Id
    unit_id: UnitId
    digital: StrictBool


class TrainingCompleted(_Data):
    staff_id: Id
    program: ProgramValue


class IndicatorObserved(_Data):
    unit_id: UnitId
    indicator: Annotated[str, Field(pattern=r"^[A-Z][0-9]{2}$")]
    numerator: (
        Annotated[float, Field(ge=0, le=MAX_OBSERVATION, allow_inf_nan=False)]
        | Annotated[int, Field(strict=True, ge=0, le=MAX_OBSERVATION)]
    )
    denominator: (
        Annotated[float, Field(ge=0, le=MAX_OBSERVATION, allow_inf_nan=False)]
        | Annotated[int, Field(strict=True, ge=0, le=MAX_OBSERVATION)]
    )

    @model_validator(mode="after")
    def _numerator_within_denominator(self) -> IndicatorObserved:
        if self.numerator > self.denominator:
            raise ValueError("numerator must not exceed denominator")
        return self


DATA_MODELS: dict[EventType, type[_Data]] = {
    EventType.UNIT_UPSERTED: UnitUpserted,
    EventType.STAFF_UPSERTED: StaffUpserted,
    EventType.PROCEDURE_UPSERTED: ProcedureUpserted,
    EventType.DOSSIER_RECEIVED: DossierReceived,
    EventType.DOSSIER_RATED: DossierRated,
    EventType.DOCUMENT_SENT: DocumentSent,
    EventType.WORKFILE_CLOSED: WorkfileClosed,
    EventType.REPORT_SUBMITTED: ReportSubmitted,
    EventType.INSPECTION_COMPLETED: InspectionCompleted,
    EventType.TRAINING_COMPLETED: TrainingCompleted,
    EventType.INDICATOR_OBSERVED: IndicatorObserved,
}

# The SPEC §3 entity key of each type: versions of one key replace each other.
_KEY_FIELDS: dict[EventType, tuple[str, str]] = {
    EventType.UNIT_UPSERTED: ("unit", "unit_id"),
    EventType.STAFF_UPSERTED: ("staff", "staff_id"),
    # A staff member's training lives with the staff member: both decide C15/C16 together.
    EventType.TRAINING_COMPLETED: ("staff", "staff_id"),
    EventType.PROCEDURE_UPSERTED: ("procedure", "procedure_id"),
    EventType.DOSSIER_RECEIVED: ("dossier.received", "dossier_id"),
    EventType.DOSSIER_RATED: ("dossier.rated", "dossier_id"),
    EventType.DOCUMENT_SENT: ("document", "document_id"),
    EventType.WORKFILE_CLOSED: ("workfile", "workfile_id"),
    EventType.REPORT_SUBMITTED: ("report", "report_id"),
    EventType.INSPECTION_COMPLETED: ("inspection", "inspection_id"),
}


class CanonicalEvent(BaseModel):
    """A validated event as it travels on Kafka and lands in ClickHouse."""

    model_config = ConfigDict(frozen=True)

    source: Annotated[str, Field(min_length=1, max_length=500)]
    id: Annotated[str, Field(min_length=1, max_length=500)]
    type: EventType
    time: AwareDatetime
    seq: int = Field(ge=0, description="ingest's acceptance order (SPEC §3 'accepted later')")
    data: dict[str, Any]

    def typed_data(self) -> _Data:
        # (the model's validator without ``model_validate``'s wrapper and its per-call work)
        typed: _Data = DATA_MODELS[self.type].__pydantic_validator__.validate_python(self.data)
        return typed

    @property
    def entity_key(self) -> str:
        return entity_key(self.type, self.data)

    @property
    def unit_id(self) -> str:
        """The unit the event is about ('' for training, which belongs to a staff member)."""
        return unit_of(self.data)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CanonicalEvent:
        """Parsed and validated in one pass (pydantic's JSON mode, as scoring reads events):
        cheaper than ``orjson.loads`` then ``model_validate``. Raises ValueError."""
        event: CanonicalEvent = cls.__pydantic_validator__.validate_json(raw)
        return event


def unit_of(data: dict[str, Any]) -> str:
    """The unit an event's data is about ('' for training, which belongs to a staff member)."""
    return str(data.get("unit_id") or data.get("from_unit") or "")


def entity_key(event_type: EventType, data: dict[str, Any]) -> str:
    if event_type is EventType.INDICATOR_OBSERVED:
        return f"indicator:{data['unit_id']}:{data['indicator']}"
    prefix, field = _KEY_FIELDS[event_type]
    return f"{prefix}:{data[field]}"


def validate_data(event_type: EventType, data: Any) -> dict[str, Any]:
    """Validate ``data`` against its type's model; returns the normalised JSON-able dict.

    ``model_validate`` then ``model_dump(mode="json")``, minus their Python wrappers (ingest
    calls this for every event it accepts).
    """
    model_class = DATA_MODELS[event_type]
    model = model_class.__pydantic_validator__.validate_python(data)
    # A dossier's optional 766 fields stay out of the data when absent: events without them
    # are byte-for-byte what they were before the fields existed.
    exclude_none = event_type is EventType.DOSSIER_RECEIVED
    return model_class.__pydantic_serializer__.to_python(  # type: ignore[no-any-return]
        model, mode="json", exclude_none=exclude_none
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_utc_micros(moment: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
