"""Finding 2 (issue 14): whatever ingest accepts, scoring and the writer can store — a property
over the event models' ranges and the ClickHouse column types of thidua/store/schema.py."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.cloudevents import PendingEvent, validate_envelope
from services.ingest.producer import canonical_bytes
from services.scoring.processors.measures import local_day
from services.writer.rows import decode_event
from thidua.contracts.events import MAX_OBSERVATION, to_utc_micros
from thidua.decode import decode

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-12)),
                         timezone(timedelta(hours=14))])  # fmt: skip
# DateTime64 spans 1900–2299 and Date 1970–2149 (ClickHouse); the writer dead-letters outside.
DATETIME64_YEARS = range(1900, 2300)
DATE_YEARS = range(1970, 2150)


def _envelope(moment: str, event_type: str, data: dict[str, object]) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": "e1",
        "source": "/dvc/tuyenquang",
        "type": event_type,
        "time": moment,
        "data": data,
    }


def _stored(event: PendingEvent) -> None:
    raw = canonical_bytes(event, 1)
    _, row = decode_event(raw)  # the writer: raises Undecodable (dead letter) if unstorable
    assert row[3].year in DATETIME64_YEARS
    decode(raw)  # scoring's decode
    day = local_day(to_utc_micros(event.time))
    assert int(day[:4]) in DATE_YEARS


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES
    )
)
def test_every_accepted_time_is_storable(moment: datetime) -> None:
    data = {"dossier_id": "d1", "unit_id": "u1", "procedure_id": "p1", "channel": "direct"}
    result = validate_envelope(
        0, _envelope(moment.isoformat(), "vn.thidua.dvc.dossier.received", data), NOW
    )
    if isinstance(result, PendingEvent):
        _stored(result)
    else:
        assert "time" in result.reason


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    numerator=st.floats() | st.integers(min_value=0),
    denominator=st.floats() | st.integers(min_value=0),
)
def test_every_accepted_observation_sums_finite(numerator: float, denominator: float) -> None:
    data = {"unit_id": "u1", "indicator": "C20", "numerator": numerator, "denominator": denominator}
    result = validate_envelope(
        0, _envelope(NOW.isoformat(), "vn.thidua.indicator.observed", data), NOW
    )
    if isinstance(result, PendingEvent):
        _stored(result)
        for value in (result.data["numerator"], result.data["denominator"]):
            assert 0 <= value <= MAX_OBSERVATION
            # a province's worth of observations, for years, still sums finite in Float64
            assert math.isfinite(float(value) * 10**9)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(unit_id=st.text(min_size=1, max_size=80))
def test_every_accepted_unit_id_is_addressable(unit_id: str) -> None:
    data = {"dossier_id": "d1", "unit_id": unit_id, "procedure_id": "p1", "channel": "direct"}
    result = validate_envelope(
        0, _envelope(NOW.isoformat(), "vn.thidua.dvc.dossier.received", data), NOW
    )
    if isinstance(result, PendingEvent):
        # /v1/units/{unit_id}/scorecard without any escaping, and no dot-segment
        assert quote(unit_id, safe="") == unit_id and unit_id not in (".", "..")


def test_the_registry_and_simulator_ids_stay_valid() -> None:
    import re
    from pathlib import Path

    import yaml

    from thidua.contracts.events import UNIT_ID_PATTERN

    path = Path(__file__).resolve().parents[2] / "config" / "units-tuyen-quang.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    units = document if isinstance(document, list) else document["units"]
    ids = [u[k] for u in units for k in ("unit_id", "parent_id", "successor_id") if u.get(k)]
    assert ids and all(re.match(UNIT_ID_PATTERN, i) for i in ids)
