"""Ingest's refusals: one exception carrying the HTTP status, the metric reason and the
per-event problems, answered as ``{"error": …, "errors": [{"index", "reason"}]}``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from services.ingest import metrics
from services.ingest.cloudevents import Problem

_STATUS_REASON = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    413: "too_large",
    415: "unsupported_media",
    422: "invalid",
    429: "overloaded",
    503: "delivery_failed",
}


class EventError(BaseModel):
    index: int = Field(description="position of the event in the request (0 for a single one)")
    reason: str


class ErrorBody(BaseModel):
    """Every refusal: nothing of the request was accepted."""

    error: str
    errors: list[EventError] = Field(default_factory=list)


class Refused(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        problems: Sequence[Problem] = (),
        source: str = "-",
        types: Sequence[str] = (),
        count: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.source = source
        self.types = list(types)
        self.count = count

    @property
    def reason(self) -> str:
        return _STATUS_REASON.get(self.status, "malformed")

    def body(self) -> dict[str, object]:
        return {"error": self.message, "errors": [p.as_json() for p in self.problems]}

    def record(self) -> None:
        """Count every refused event by type (request-level refusals count once, type '-')."""
        if self.types:
            for event_type, count in Counter(t or "unknown" for t in self.types).items():
                metrics.EVENTS_REJECTED.labels(self.source, event_type, self.reason).inc(count)
        else:
            metrics.EVENTS_REJECTED.labels(self.source, "-", self.reason).inc(self.count)


RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Malformed body or headers"},
    401: {"model": ErrorBody, "description": "Missing or unknown bearer token"},
    403: {
        "model": ErrorBody,
        "description": "The token may not send this type, as this source, or by this adapter",
    },
    408: {"model": ErrorBody, "description": "The body did not arrive within the deadline"},
    413: {"model": ErrorBody, "description": "Over the byte or event limit"},
    415: {"model": ErrorBody, "description": "Unsupported Content-Type"},
    422: {
        "model": ErrorBody,
        "description": "Invalid events: every index with its reason (a time before 2000 or "
        "over 24 h ahead, a unit id outside the pattern, a missing or mistyped field …)",
    },
    429: {"model": ErrorBody, "description": "Shedding load: retry later (Retry-After)"},
    503: {"model": ErrorBody, "description": "Kafka did not acknowledge: nothing accepted"},
}
