"""Arbitrary input to the DVCQG mapping yields a 400 or a per-dossier problem, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest import dvcqg, dvcqg_catalogue
from services.ingest.cloudevents import MalformedRequest
from services.ingest.procedures import ProcedureMap
from tests.ingest.test_dvcqg import CSHARP, UNITS
from tests.ingest.test_parsers_fuzz import JSON

ITEM = orjson.loads(CSHARP)[0]
DATES = st.text("0123456789-T:Z+ ", max_size=25) | st.sampled_from(
    ["20250230120000", "99999999999999", "00000000000000", "20251301000000", "2025-03-01T25:00:00"]
)
VALUES = (
    JSON
    | DATES
    | st.sampled_from(["0", "1", "2", "3", "10", "11", "", " 2 ", "٢", "²", "1" * 5000])
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(sorted(ITEM)), VALUES, max_size=12).map(
            lambda changes: {**ITEM, **changes}
        )
        | JSON,
        max_size=5,
    )
)
def test_dossiers_never_crash(items: list[object]) -> None:
    dossiers, problems = dvcqg.read_dossiers(items, "000.00.13.H56")
    events, late = dvcqg.to_events(
        dossiers, UNITS, ProcedureMap(), "/t", datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert len(dossiers) + len(problems) <= len(items)
    assert len(events) + len(late) <= len(dossiers)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["MaTTHC", "MucDo", "MaCoQuan", "NgayCapNhat",
                                                 "CoTrenDiDong", "COQUANTHUCHIEN"]),
                                VALUES, max_size=6) | JSON, max_size=5))  # fmt: skip
def test_procedures_never_crash(items: list[object]) -> None:
    procedures, problems = dvcqg_catalogue.read_procedures(items)
    assert len(procedures) + len(problems) == len(items)
    dvcqg_catalogue.to_events(procedures, UNITS, "/t")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200) | JSON.map(orjson.dumps))
def test_bodies_parse_or_400(body: bytes) -> None:
    try:
        dvcqg.parse_body(body)
    except MalformedRequest:
        pass
