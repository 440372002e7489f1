"""Arbitrary input to the pure parsers yields a 400 or a per-event problem, never a crash."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest import cloudevents, edxml, xapi
from services.ingest.cloudevents import MalformedRequest
from tests.ingest.test_edxml import SIGNED
from tests.ingest.test_xapi import ACTIVITIES, MOODLE

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
ENVELOPE_KEYS = st.sampled_from(
    ["specversion", "id", "source", "type", "time", "data", "datacontenttype", "data_base64"]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(ENVELOPE_KEYS, JSON, max_size=8) | JSON, max_size=5))
def test_cloudevents_never_crash(envelopes: list[object]) -> None:
    events, problems = cloudevents.validate_all(envelopes)
    assert len(events) + len(problems) == len(envelopes)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "id": JSON,
                "actor": JSON | st.just(MOODLE["actor"]),
                "verb": JSON | st.just(MOODLE["verb"]),
                "object": JSON | st.just(MOODLE["object"]),
                "timestamp": JSON,
            },
        )
        | JSON,
        max_size=4,
    )
)
def test_xapi_never_crashes(statements: list[object]) -> None:
    result = xapi.to_events(statements, ACTIVITIES, "/xapi/lms")
    assert len(result.events) + len(result.problems) + result.ignored == len(statements)
    try:
        xapi.parse_statements(orjson.dumps(statements))
    except MalformedRequest:
        pass


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300) | st.integers(0, len(SIGNED) - 1).map(lambda n: SIGNED[:n]))
def test_edxml_never_crashes(body: bytes) -> None:
    try:
        edxml.parse_message(body)
    except MalformedRequest:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(ENVELOPE_KEYS, JSON, max_size=8) | JSON, max_size=5))
def test_permission_and_metric_helpers_never_crash(envelopes: list[object]) -> None:
    from services.ingest.auth import OPEN_SOURCE, SourceSystem
    from services.ingest.errors import Refused
    from services.ingest.routes import _check_permissions, _types

    assert len(_types(envelopes)) == len(envelopes)
    narrow = SourceSystem(
        name="dvc", token_sha256="0" * 64, types=("vn.thidua.dvc.*",), ce_sources=("/dvc/*",)
    )
    for system in (OPEN_SOURCE, narrow):
        try:
            _check_permissions(envelopes, system)
        except Refused as refused:
            assert refused.status == 403
