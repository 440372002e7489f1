"""OrganId → unit map from unit.upserted versions (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.ingest.registry import OrganMap
from thidua.contracts.events import CanonicalEvent, EventType


def _unit(unit_id: str, organs: list[str], day: int, seq: int = 1, **data: Any) -> CanonicalEvent:
    return CanonicalEvent(
        source="/registry",
        id=f"{unit_id}-{day}-{seq}",
        type=EventType.UNIT_UPSERTED,
        time=datetime(2025, 1, day, tzinfo=UTC),
        seq=seq,
        data={
            "unit_id": unit_id,
            "name": unit_id,
            "tier": "commune",
            "organ_ids": organs,
            "active": True,
            **data,
        },
    )


def test_latest_version_owns_the_organ_ids_whatever_the_arrival_order() -> None:
    organs = OrganMap()
    organs.apply(_unit("xa-a", ["000.01.H56", "000.02.H56"], day=2))
    organs.apply(_unit("xa-a", ["000.09.H56"], day=1))  # older, arrives late: ignored
    assert organs.organ_units == {"000.01.H56": "xa-a", "000.02.H56": "xa-a"}
    organs.apply(_unit("xa-a", ["000.01.H56"], day=3))
    assert organs.organ_units == {"000.01.H56": "xa-a"}
    # A merger (2025 reform): the successor takes over the code.
    organs.apply(_unit("xa-b", ["000.01.H56"], day=4))
    organs.apply(_unit("xa-a", [], day=5, successor_id="xa-b", active=False))
    assert organs.organ_units == {"000.01.H56": "xa-b"}


def test_other_types_are_ignored() -> None:
    organs = OrganMap()
    staff = CanonicalEvent(
        source="/registry",
        id="s1",
        type=EventType.STAFF_UPSERTED,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        seq=1,
        data={
            "staff_id": "s",
            "unit_id": "u",
            "category": "worker",
            "digital_id": False,
            "active": True,
        },
    )
    organs.apply(staff)
    assert organs.organ_units == {}


def test_a_closed_units_codes_still_resolve_to_it() -> None:
    """SPEC §7.2: sources lag behind a reform; scoring attributes the closed unit's data to
    its successor by time, so its code must keep resolving, even when the closing version
    leaves organ_ids out."""
    organs = OrganMap()
    organs.apply(_unit("huyen-a", ["000.00.70.H59"], day=1, tier="district"))
    organs.apply(_unit("huyen-a", [], day=20, successor_id="xa-b", active=False))
    organs.apply(_unit("xa-b", ["000.21.08.H59"], day=20))
    assert organs.organ_units == {"000.00.70.H59": "huyen-a", "000.21.08.H59": "xa-b"}


def test_a_shared_code_goes_to_the_active_unit_whatever_the_arrival_order() -> None:
    versions = [
        _unit("huyen-a", ["X"], day=1),
        _unit("huyen-a", ["X"], day=20, successor_id="xa-b", active=False),
        _unit("xa-b", ["X"], day=20),
        _unit("xa-c", ["X"], day=21, active=False),
    ]
    for order in (versions, versions[::-1], versions[1:] + versions[:1]):
        organs = OrganMap()
        for version in order:
            organs.apply(version)
        assert organs.organ_units == {"X": "xa-b"}
