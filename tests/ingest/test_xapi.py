"""xAPI 1.0.3 statements → training.completed: pure checks on an LMS's real statement shape."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.cloudevents import MalformedRequest
from services.ingest.xapi import check_version, load_activity_map, parse_statements, to_events
from thidua.contracts.events import EventType, Program
from thidua.settings import IngestSettings

MOODLE = json.loads((Path(__file__).parent / "payloads" / "moodle-completed.json").read_text())
ACTIVITIES = load_activity_map(IngestSettings().xapi_activity_map_file)


def statement(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(MOODLE)
    result.update(changes)
    return result


def test_config_maps_activities_to_programs() -> None:
    assert set(ACTIVITIES.values()) == {Program.BASIC_DIGITAL_SKILLS, Program.DATA_ANALYTICS}


def test_moodle_completion_becomes_training_completed() -> None:
    result = to_events([MOODLE], ACTIVITIES, "/xapi/lms")
    assert result.problems == [] and result.ignored == 0
    [event] = result.events
    assert event.type is EventType.TRAINING_COMPLETED
    assert event.id == MOODLE["id"] and event.source == "/xapi/lms"
    assert event.data == {"staff_id": "CB-08-000123", "program": "basic_digital_skills"}
    assert event.time == datetime(2025, 3, 14, 2, 21, 35, tzinfo=UTC)
    assert event.key == b"staff:CB-08-000123"


def test_passed_counts_and_other_verbs_or_activities_are_ignored() -> None:
    passed = statement(verb={"id": "http://adlnet.gov/expapi/verbs/passed"})
    attempted = statement(verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    other = statement(object={"objectType": "Activity", "id": "https://lms.example/quiz/1"})
    agent_object = statement(object={"objectType": "Agent", "mbox": "mailto:a@b.vn"})
    result = to_events([passed, attempted, other, agent_object], ACTIVITIES, "/xapi/lms")
    assert len(result.events) == 1 and result.ignored == 3 and result.problems == []


def test_statement_without_id_or_timestamp_gets_a_stable_id_and_receipt_time() -> None:
    bare = statement()
    del bare["id"], bare["timestamp"]
    now = datetime(2025, 6, 1, tzinfo=UTC)
    first = to_events([bare], ACTIVITIES, "/xapi/lms", received_at=now).events[0]
    again = to_events([copy.deepcopy(bare)], ACTIVITIES, "/xapi/lms", received_at=now).events[0]
    assert first.id == again.id and first.time == now


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"actor": {"mbox": "mailto:lan@tuyenquang.gov.vn"}}, "actor.account.name"),
        ({"timestamp": "14/03/2025"}, "timestamp"),
        ({"verb": {}}, "verb.id"),
        ({"id": "not-a-uuid"}, "UUID"),
        ({"actor": "lan"}, "actor"),
    ],
)
def test_unusable_statements_are_invalid(changes: dict[str, Any], fragment: str) -> None:
    result = to_events([MOODLE, statement(**changes)], ACTIVITIES, "/xapi/lms")
    assert [p.index for p in result.problems] == [1]
    assert fragment in result.problems[0].reason


def test_version_header_and_body_shape() -> None:
    check_version("1.0.3")
    check_version("1.0.0")
    for bad in (None, "0.95", "2.0.0"):
        with pytest.raises(MalformedRequest):
            check_version(bad)
    assert len(parse_statements(json.dumps([MOODLE, MOODLE]).encode())) == 2
    with pytest.raises(MalformedRequest):
        parse_statements(b"42")
