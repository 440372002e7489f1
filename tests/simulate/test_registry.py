"""The default registry: built from vietnam-provinces, follows the 2025 reform, shipped as
config, deterministic, and loads files of the first (flat) format."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from thidua.contracts.events import Tier
from tools.simulate.registry import (
    DEFAULT_REGISTRY_FILE,
    DEPARTMENT_REFORM_DAY,
    REFORM_DAY,
    RegistryUnit,
    UnitVersion,
    build_registry,
    check_registry,
    load_registry,
    write_registry,
)

ROOT = Path(__file__).resolve().parents[2]
HA_GIANG_DISTRICTS = {24, *range(26, 36)}  # GSO codes; 025 is unused
TUYEN_QUANG_DISTRICTS = set(range(70, 77))


@pytest.fixture(scope="module")
def units() -> dict[str, RegistryUnit]:
    return {u.unit_id: u for u in build_registry()}


def _tiers_on(units: dict[str, RegistryUnit], day: date) -> Counter[Tier]:
    return Counter(u.tier for u in units.values() if u.active_on(day))


def test_registry_covers_the_province(units: dict[str, RegistryUnit]) -> None:
    tiers = Counter(u.tier for u in units.values())
    assert tiers[Tier.COMMUNE] == 124  # SPEC §2: communes/wards after the 2025 reform
    assert tiers[Tier.DISTRICT] == 18  # 7 of Tuyên Quang + 11 of Hà Giang
    assert tiers[Tier.ENTERPRISE] >= 3
    assert all(v.block for u in units.values() for v in u.versions)
    names = {u.name for u in units.values()}
    assert {"Sở Nội vụ", "Sở Khoa học và Công nghệ", "UBND phường Minh Xuân"} <= names
    assert _tiers_on(units, date(2025, 1, 1)) == {
        Tier.PROVINCE_AGENCY: 19,
        Tier.DISTRICT: 18,
        Tier.ENTERPRISE: 6,
    }
    assert _tiers_on(units, date(2025, 12, 31)) == {
        Tier.PROVINCE_AGENCY: 14,
        Tier.COMMUNE: 124,
        Tier.ENTERPRISE: 6,
    }


def test_districts_of_both_provinces_close_into_their_seats(
    units: dict[str, RegistryUnit],
) -> None:
    districts = [u for u in units.values() if u.tier is Tier.DISTRICT]
    codes = {int(u.unit_id.rsplit("-", 1)[1]) for u in districts}
    assert codes == HA_GIANG_DISTRICTS | TUYEN_QUANG_DISTRICTS
    for unit in districts:
        assert unit.valid_from == date(2021, 1, 1)
        assert unit.valid_to == REFORM_DAY and not unit.active_on(REFORM_DAY)
        assert unit.active_on(date(2025, 6, 30))
        successor = units[unit.successor_id or ""]
        assert successor.tier is Tier.COMMUNE
        assert successor.valid_from == REFORM_DAY and successor.valid_to is None
    seats = {u.unit_id: units[u.successor_id or ""].name for u in districts}
    assert seats["tq-huyen-029"] == "UBND xã Quản Bạ"
    assert seats["tq-huyen-024"] == "UBND phường Hà Giang 1"
    assert seats["tq-huyen-070"] == "UBND phường Minh Xuân"
    assert len(set(seats.values())) == 18
    for unit in units.values():
        if unit.tier is Tier.COMMUNE:
            assert unit.valid_from == REFORM_DAY and unit.valid_to is None


def test_departments_merge_and_are_renamed_on_2025_03_01(
    units: dict[str, RegistryUnit],
) -> None:
    before, after = date(2025, 2, 28), DEPARTMENT_REFORM_DAY
    tttt = units["tq-so-tttt"]
    assert tttt.name_on(before) == "Sở Thông tin và Truyền thông"
    assert tttt.active_on(before) and not tttt.active_on(after)
    assert tttt.valid_to == after and tttt.successor_id == "tq-so-khcn"
    merged = {u.unit_id: u.successor_id for u in units.values() if u.valid_to == after}
    assert merged == {
        "tq-so-tttt": "tq-so-khcn",
        "tq-so-khdt": "tq-so-tai-chinh",
        "tq-so-ldtbxh": "tq-so-noi-vu",
        "tq-so-gtvt": "tq-so-xay-dung",
        "tq-so-tnmt": "tq-so-nnmt",
    }
    assert all(units[s or ""].active_on(after) for s in merged.values())
    nnmt, dtg = units["tq-so-nnmt"], units["tq-so-dan-toc-ton-giao"]
    assert nnmt.name_on(date(2021, 6, 1)) == "Sở Nông nghiệp và Phát triển nông thôn"
    assert nnmt.name_on(after) == nnmt.name == "Sở Nông nghiệp và Môi trường"
    assert dtg.name_on(before) == "Ban Dân tộc" and dtg.name_on(after) == "Sở Dân tộc và Tôn giáo"
    assert nnmt.active_on(after) and nnmt.valid_to is None  # a rename is not a closing


def test_ids_and_organ_ids_are_valid_and_unique(units: dict[str, RegistryUnit]) -> None:
    pattern = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
    assert all(pattern.match(u) for u in units)
    organs = [o for u in units.values() for o in u.organ_ids]
    assert organs and len(organs) == len(set(organs))
    assert all(u.organ_ids for u in units.values() if u.tier is not Tier.ENTERPRISE)


def test_check_refuses_a_broken_registry(units: dict[str, RegistryUnit]) -> None:
    good = list(units.values())
    with pytest.raises(ValueError, match="duplicate"):
        check_registry([*good, good[0]])
    district = units["tq-huyen-026"]
    orphan = RegistryUnit(
        district.unit_id,
        district.tier,
        (district.versions[0], UnitVersion(REFORM_DAY, "x", None, False, "nope")),
    )
    with pytest.raises(ValueError, match="successor"):
        check_registry([u for u in good if u.unit_id != orphan.unit_id] + [orphan])


def test_package_with_the_post_reform_data_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("vietnam-provinces")]
    assert pins == [f"vietnam-provinces=={version('vietnam-provinces')}"]


def test_shipped_registry_is_the_generated_one(tmp_path: Path) -> None:
    written = write_registry(tmp_path / "units.yaml")
    assert written.read_text(encoding="utf-8") == DEFAULT_REGISTRY_FILE.read_text(encoding="utf-8")
    assert load_registry(written) == build_registry()


def test_the_flat_format_still_loads(tmp_path: Path) -> None:
    flat = {
        "units": [
            {"unit_id": "tq-xa-02215", "name": "UBND phường Minh Xuân", "tier": "commune",
             "block": "b", "valid_from": "2025-07-01", "valid_to": None},
            {"unit_id": "tq-huyen-070", "name": "UBND thành phố Tuyên Quang", "tier": "district",
             "block": "a", "organ_ids": ["000.00.70.H59"], "successor_id": "tq-xa-02215",
             "valid_from": "2021-01-01", "valid_to": "2025-07-01"},
        ]
    }  # fmt: skip
    file = tmp_path / "flat.yaml"
    file.write_text(yaml.safe_dump(flat, allow_unicode=True), encoding="utf-8")
    commune, district = load_registry(file)
    assert commune.valid_from == REFORM_DAY and commune.valid_to is None
    assert district.valid_to == REFORM_DAY and district.successor_id == "tq-xa-02215"
    assert district.name_on(date(2025, 8, 1)) == "UBND thành phố Tuyên Quang"
