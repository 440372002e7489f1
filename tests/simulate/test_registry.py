"""The default registry: built from vietnam-provinces, shipped as config, deterministic."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from thidua.contracts.events import Tier
from thidua.simulate.registry import (
    DEFAULT_REGISTRY_FILE,
    REFORM_DAY,
    build_registry,
    load_registry,
    write_registry,
)


def test_registry_covers_the_province() -> None:
    units = build_registry()
    tiers = Counter(u.tier for u in units)
    assert tiers[Tier.COMMUNE] == 124  # SPEC §2: communes/wards after the 2025 reform
    assert tiers[Tier.DISTRICT] == 7
    assert tiers[Tier.PROVINCE_AGENCY] >= 14
    assert tiers[Tier.ENTERPRISE] >= 3
    assert all(u.block for u in units)
    names = {u.name for u in units}
    assert {"Sở Nội vụ", "Sở Khoa học và Công nghệ", "UBND phường Minh Xuân"} <= names


def test_districts_merge_into_communes_on_the_reform_day() -> None:
    units = {u.unit_id: u for u in build_registry()}
    for unit in units.values():
        if unit.tier is Tier.DISTRICT:
            assert unit.valid_to == REFORM_DAY
            assert unit.successor_id in units
            assert units[unit.successor_id].tier is Tier.COMMUNE
        if unit.tier is Tier.COMMUNE:
            assert unit.valid_from == REFORM_DAY and unit.valid_to is None


def test_shipped_registry_is_the_generated_one(tmp_path: Path) -> None:
    written = write_registry(tmp_path / "units.yaml")
    assert written.read_text(encoding="utf-8") == DEFAULT_REGISTRY_FILE.read_text(encoding="utf-8")
    assert load_registry(written) == build_registry()
