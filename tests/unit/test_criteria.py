from pathlib import Path

import pytest
import yaml

from thidua.contracts.criteria import DEFAULT_CRITERIA_FILE, default_criteria, load_criteria
from thidua.contracts.events import Tier

# SPEC §3 table: which criteria apply to which tier, with their 2025 targets.
EXPECTED_TARGETS = {
    "C01": {"province_agency": 1.0},
    "C03": {"province_agency": 0.8},
    "C05": {"province_agency": 0.9, "district": 0.9, "commune": 0.9},
    "C09": {"province_agency": 0.8, "district": 0.8},
    "C13": {"province_agency": 0.9, "district": 0.8, "commune": 0.6},
    "C14": {"province_agency": 0.5, "district": 0.5},
    "C16": {"province_agency": 0.5, "district": 0.5, "commune": 0.5},
    "C19": {"district": 1.0},
    "E01": {"enterprise": 1.0},
}


def test_config_matches_the_plan() -> None:
    cfg = default_criteria()
    assert len(cfg.criteria) == 23
    for cid, targets in EXPECTED_TARGETS.items():
        assert {t.value: v for t, v in cfg.by_id(cid).targets.items()} == targets
    assert len(cfg.for_tier(Tier.PROVINCE_AGENCY)) == 16
    assert len(cfg.for_tier(Tier.DISTRICT)) == 17
    assert len(cfg.for_tier(Tier.COMMUNE)) == 8
    assert [c.id for c in cfg.for_tier(Tier.ENTERPRISE)] == ["E01", "E02"]
    assert {c.id for c in cfg.criteria if c.kind == "flow"} == {
        "C03",
        "C05",
        "C11",
        "C12",
        "C13",
        "C14",
    }


def test_a_new_plan_is_a_new_file(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_CRITERIA_FILE.read_text(encoding="utf-8"))
    raw["version"] = "2026-2030"
    raw["criteria"][2]["targets"] = {"province_agency": 0.95}
    path = tmp_path / "plan-2030.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_criteria(path).by_id("C03").targets[Tier.PROVINCE_AGENCY] == 0.95


def test_invalid_config_names_the_problem(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_CRITERIA_FILE.read_text(encoding="utf-8"))
    raw["criteria"][0]["targets"] = {"province_agency": 80}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="C01"):
        load_criteria(path)
