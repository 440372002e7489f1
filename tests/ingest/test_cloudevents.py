"""CloudEvents envelope → canonical event: pure checks (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from services.ingest.cloudevents import (
    MalformedRequest,
    PendingEvent,
    Problem,
    binary_envelope,
    parse_batch,
    parse_structured,
    parse_time,
    validate_all,
    validate_envelope,
)
from tests.ingest.conftest import dossier
from thidua.contracts.events import EventType


def test_valid_dossier_becomes_a_pending_event_keyed_by_entity() -> None:
    event = validate_envelope(0, dossier(7))
    assert isinstance(event, PendingEvent)
    assert event.type is EventType.DOSSIER_RECEIVED
    assert event.time == datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    assert event.key == b"dossier.received:H08.000007"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-01T10:00:00Z", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        (
            "2025-03-01t10:00:00.123456789+07:00",
            datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=7))),
        ),
    ],
)
def test_rfc3339_times(value: str, expected: datetime) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    "value", ["2025-03-01T10:00:00", "2025-03-01", "1709280000", "2025-13-01T00:00:00Z", 17]
)
def test_times_without_offset_or_invalid_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_time(value)


def test_every_reason_of_an_event_is_reported() -> None:
    envelope = dossier(1, specversion="0.3", time="yesterday")
    del envelope["id"]
    envelope["data"]["channel"] = "fax"
    envelope["data"]["unit_id"] = 42
    problem = validate_envelope(3, envelope)
    assert isinstance(problem, Problem) and problem.index == 3
    for fragment in ("specversion", "id is required", "time", "data.channel", "data.unit_id"):
        assert fragment in problem.reason


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"type": "vn.thidua.dvc.dossier.deleted"}, "unknown type"),
        ({"data": "x"}, "data must be a JSON object"),
        ({"data_base64": "eyJ9"}, "data_base64"),
        ({"datacontenttype": "text/xml"}, "not a JSON media type"),
        ({"source": ""}, "source must be a non-empty string"),
    ],
)
def test_invalid_envelopes(change: dict[str, object], fragment: str) -> None:
    problem = validate_envelope(0, dossier(1, **change))
    assert isinstance(problem, Problem) and fragment in problem.reason


def test_time_is_required() -> None:
    envelope = dossier(1)
    del envelope["time"]
    problem = validate_envelope(0, envelope)
    assert isinstance(problem, Problem) and "time is required" in problem.reason


def test_mistyped_boolean_is_invalid() -> None:
    envelope = dossier(
        1,
        type="vn.thidua.dvc.dossier.rated",
        data={"dossier_id": "H1", "unit_id": "u", "satisfied": "true"},
    )
    assert isinstance(validate_envelope(0, envelope), Problem)


def test_indicator_numerator_over_denominator_is_invalid() -> None:
    envelope = dossier(
        1,
        type="vn.thidua.indicator.observed",
        data={"unit_id": "u", "indicator": "C17", "numerator": 5, "denominator": 4},
    )
    problem = validate_envelope(0, envelope)
    assert isinstance(problem, Problem) and "numerator" in problem.reason


def test_batch_lists_every_invalid_index() -> None:
    events, problems = validate_all([dossier(1), "x", dossier(2, type="nope"), dossier(3)])
    assert len(events) == 2
    assert [p.index for p in problems] == [1, 2]


def test_structured_and_batch_bodies() -> None:
    assert parse_structured(orjson.dumps(dossier(1))) == [dossier(1)]
    assert parse_batch(orjson.dumps([dossier(1), dossier(2)])) == [dossier(1), dossier(2)]
    for body, parser in [
        (b"[1]", parse_structured),
        (b"{}", parse_batch),
        (b"{", parse_batch),
        (b'"x"', parse_structured),
    ]:
        with pytest.raises(MalformedRequest):
            parser(body)


def test_binary_mode_reads_percent_encoded_ce_headers() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "b-1",
        "ce-source": "/dvc/tuy%C3%AAn-quang",
        "ce-type": "vn.thidua.dvc.dossier.received",
        "ce-time": "2025-03-01T10:00:00Z",
        "content-type": "application/json",
    }
    envelope = binary_envelope(headers, orjson.dumps(dossier(1)["data"]), "application/json")
    event = validate_envelope(0, envelope)
    assert isinstance(event, PendingEvent)
    assert event.source == "/dvc/tuyên-quang"
    with pytest.raises(MalformedRequest):
        binary_envelope({"content-type": "application/json"}, b"{}", "application/json")


@pytest.mark.parametrize("declared", [None, "application/json; charset=utf-8", "text/json+json"])
def test_json_datacontenttypes_or_none_are_fine(declared: str | None) -> None:
    envelope = dossier(1)
    envelope.pop("datacontenttype")
    if declared is not None:
        envelope["datacontenttype"] = declared
    assert isinstance(validate_envelope(0, envelope), PendingEvent)


@pytest.mark.parametrize("declared", [True, False, 3, ["application/json"]])
def test_non_string_datacontenttype_is_invalid(declared: object) -> None:
    problem = validate_envelope(0, dossier(1, datacontenttype=declared))
    assert isinstance(problem, Problem) and "datacontenttype" in problem.reason
