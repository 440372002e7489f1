"""Every Kafka topic, declared once: logical names here, physical names from settings.

Source topics are keyed by the SPEC §3 entity key, so every version of one dossier, document
or staff member lands in one partition in acceptance order, and Faust tables keyed the same way
line up with them without a repartition hop.
"""

from __future__ import annotations

from enum import StrEnum

from thidua.contracts.events import EventType


class Topic(StrEnum):
    EVENTS_REGISTRY = "events-registry"  # units and staff
    EVENTS_DVC = "events-dvc"  # public-service portal: procedures, dossiers, ratings
    EVENTS_EDOC = "events-edoc"  # e-documents, work files, reports, inspections
    EVENTS_TRAINING = "events-training"  # LMS / xAPI
    EVENTS_INDICATOR = "events-indicator"  # periodic figures no system emits
    KPI_COUNTERS = "kpi-counters"  # compacted: absolute per (unit, measure, day, partition)
    KPI_RESULTS = "kpi-results"  # compacted: scorecards per (period, unit), for notify
    ALERTS = "alerts"
    DEAD_LETTER = "dead-letter"
    # Ingest's own copy of every procedure.upserted it accepted, so that ingest can follow the
    # procedure catalogue (the DVCQG adapter's channel) without reading every dossier.
    INGEST_PROCEDURES = "ingest-procedures"


SOURCE_TOPICS: tuple[Topic, ...] = (
    Topic.EVENTS_REGISTRY,
    Topic.EVENTS_DVC,
    Topic.EVENTS_EDOC,
    Topic.EVENTS_TRAINING,
    Topic.EVENTS_INDICATOR,
)

COMPACTED_TOPICS: frozenset[Topic] = frozenset({Topic.KPI_COUNTERS, Topic.KPI_RESULTS})

_FAMILY: dict[EventType, Topic] = {
    EventType.UNIT_UPSERTED: Topic.EVENTS_REGISTRY,
    EventType.STAFF_UPSERTED: Topic.EVENTS_REGISTRY,
    # Keyed by staff_id like staff.upserted, with the same partition count: the two topics are
    # co-partitioned, so one Faust task sees a staff member's versions and trainings together.
    EventType.TRAINING_COMPLETED: Topic.EVENTS_TRAINING,
    EventType.PROCEDURE_UPSERTED: Topic.EVENTS_DVC,
    EventType.DOSSIER_RECEIVED: Topic.EVENTS_DVC,
    EventType.DOSSIER_RATED: Topic.EVENTS_DVC,
    EventType.DOCUMENT_SENT: Topic.EVENTS_EDOC,
    EventType.WORKFILE_CLOSED: Topic.EVENTS_EDOC,
    EventType.REPORT_SUBMITTED: Topic.EVENTS_EDOC,
    EventType.INSPECTION_COMPLETED: Topic.EVENTS_EDOC,
    EventType.INDICATOR_OBSERVED: Topic.EVENTS_INDICATOR,
}


def topic_for(event_type: EventType) -> Topic:
    return _FAMILY[event_type]


def physical(topic: Topic, prefix: str) -> str:
    """The broker-side name: a prefix lets tests and tenants share one broker."""
    return f"{prefix}{topic.value}"
