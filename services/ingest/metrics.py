"""Every Prometheus metric of ingest, declared once (label values are bounded: source systems
come from config, types from ``EventType``, reasons from the fixed list below).

With several uvicorn workers, ``thidua ingest`` sets ``PROMETHEUS_MULTIPROC_DIR`` before they
start, so each worker writes its values there and ``/metrics`` answers for all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Reasons a request or event is refused; the `reason` label takes only these values.
REASONS = (
    "malformed",  # 400: unreadable body
    "invalid",  # 422: an event breaks SPEC §4
    "too_large",  # 413: bytes or events over the limit
    "unauthorized",  # 401: no or unknown token
    "forbidden",  # 403: the token may not send this type / adapter
    "unsupported_media",  # 415: neither CloudEvents, JSON nor XML
    "overloaded",  # 429: load shed before anything was produced
    "delivery_failed",  # 503: the broker did not acknowledge
)

# Events acknowledged by Kafka and answered 202, per source system and canonical type.
EVENTS_ACCEPTED = Counter(
    "thidua_ingest_events_accepted_total",
    "Events acknowledged by Kafka and answered 202",
    ["source", "type"],
)
# Unix time of the last request of each source system answered 202 (alerts on a source that
# falls silent; across several uvicorn workers the newest one counts).
LAST_ACCEPTED = Gauge(
    "thidua_ingest_last_accepted_timestamp_seconds",
    "Unix time of the last accepted request, per source system",
    ["source"],
    multiprocess_mode="max",
)
# Events (or, when the body cannot be read, requests) refused, with the reason.
EVENTS_REJECTED = Counter(
    "thidua_ingest_events_rejected_total",
    "Events refused, by source system, type and reason",
    ["source", "type", "reason"],
)
# xAPI statements that are valid but map to no canonical event (other verbs or activities).
XAPI_IGNORED = Counter(
    "thidua_ingest_xapi_statements_ignored_total",
    "xAPI statements accepted and ignored (verb or activity not mapped)",
    ["source"],
)
# Wall time of each HTTP request, from the first byte read to the answer.
REQUEST_SECONDS = Histogram(
    "thidua_ingest_request_seconds",
    "HTTP request latency",
    ["endpoint", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Requests being served right now (429 above THIDUA_INGEST_MAX_INFLIGHT).
INFLIGHT = Gauge(
    "thidua_ingest_inflight_requests", "HTTP requests in flight", multiprocess_mode="livesum"
)
# Records handed to the producer and not yet acknowledged by the broker (its queue depth).
PRODUCER_QUEUE = Gauge(
    "thidua_ingest_producer_queue_depth",
    "Records sent to the producer, awaiting the broker's ack",
    multiprocess_mode="livesum",
)
# Records the broker failed to acknowledge (the request is answered 503, nothing counted).
PRODUCER_ERRORS = Counter(
    "thidua_ingest_producer_errors_total", "Records the broker did not acknowledge", ["topic"]
)
# edXML units: OrganId → unit_id entries known from the unit registry topic.
ORGAN_IDS_KNOWN = Gauge(
    "thidua_ingest_organ_ids_known", "OrganId codes mapped to units", multiprocess_mode="livemax"
)
PROCEDURES_KNOWN = Gauge(
    "thidua_ingest_procedures_known",
    "procedures read from procedure.upserted (for the DVCQG adapter's channel)",
    multiprocess_mode="livemax",
)
DVCQG_IGNORED = Counter(
    "thidua_ingest_dvcqg_dossiers_ignored_total",
    "DVCQG dossiers valid but never received (TrangThaiHoSo 1 or 3): not emitted",
    ["source"],
)


def exposition() -> bytes:
    """The text format for ``/metrics``: this process, or every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def forget_this_process() -> None:
    """Multiprocess mode: drop this worker's live gauges when it stops."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
