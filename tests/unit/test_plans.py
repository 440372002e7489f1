"""Plans (SPEC §7.1): the shipped files, the plan of a period, the periods that exist, and
plan files refused at start."""

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from thidua.contracts.events import Tier
from thidua.contracts.periods import PeriodError
from thidua.contracts.plans import DEFAULT_PLANS_DIR, default_plans, final, load_plans

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PHASE1 = DEFAULT_PLANS_DIR / "phase-2021-2025.yaml"

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


def test_phase_1_matches_the_seed() -> None:
    cfg = default_plans().by_id("phase-2021-2025")
    assert len(cfg.criteria) == 23
    for cid, targets in EXPECTED_TARGETS.items():
        assert {t.value: v for t, v in cfg.by_id(cid).targets.items()} == targets
    assert len(cfg.for_tier(Tier.PROVINCE_AGENCY)) == 16
    assert len(cfg.for_tier(Tier.DISTRICT)) == 17
    assert len(cfg.for_tier(Tier.COMMUNE)) == 8
    assert [c.id for c in cfg.for_tier(Tier.ENTERPRISE)] == ["E01", "E02"]
    assert {c.id for c in cfg.criteria if c.kind == "flow"} == {
        "C03", "C05", "C11", "C12", "C13", "C14",
    }  # fmt: skip
    assert (cfg.phase.start, cfg.phase.end) == (date(2021, 1, 1), date(2026, 1, 1))
    assert cfg.target_date == date(2025, 12, 31) and not cfg.provisional


def test_phase_2_is_provisional_and_carries_the_2025_targets_forward() -> None:
    plans = default_plans()
    one, two = plans.by_id("phase-2021-2025"), plans.by_id("phase-2026-2030")
    assert two.provisional
    assert two.note == "Tạm áp dụng chỉ tiêu năm 2025 cho đến khi có chỉ tiêu giai đoạn 2"
    assert (two.phase.start, two.phase.end, two.target_date) == (
        date(2026, 1, 1), date(2031, 1, 1), date(2030, 12, 31),
    )  # fmt: skip
    assert [(c.id, c.targets, c.weight) for c in two.criteria] == [
        (c.id, c.targets, c.weight) for c in one.criteria
    ]


@pytest.mark.parametrize(
    ("period", "plan"),
    [
        ("2021", "phase-2021-2025"),
        ("2025", "phase-2021-2025"),
        ("2025-Q4", "phase-2021-2025"),
        ("phase-2021-2025", "phase-2021-2025"),
        ("2026", "phase-2026-2030"),
        ("2026-Q1", "phase-2026-2030"),
        ("2030", "phase-2026-2030"),
        ("phase-2026-2030", "phase-2026-2030"),
        ("rolling-30d", "phase-2026-2030"),
    ],
)
def test_a_period_is_scored_under_the_plan_in_force_on_its_last_day(period: str, plan: str) -> None:
    plans = default_plans()
    assert plans.for_period(plans.parse(period, NOW)).plan_id == plan


@pytest.mark.parametrize(
    "text", ["2019", "2020-Q4", "2031", "2031-Q1", "phase-2019-2020", "phase-2021-2023",
             "phase-2021-2030", "phase-2026-2031", "2025-Q5", "last-year"],
)  # fmt: skip
def test_periods_outside_every_plan_are_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        default_plans().parse(text, NOW)


def test_the_periods_of_the_plans() -> None:
    plans = default_plans()
    started = [p.id for p in plans.periods(NOW)]
    assert started[:5] == ["2021", "2021-Q1", "2021-Q2", "2021-Q3", "2021-Q4"]
    assert {"2025", "phase-2021-2025", "2026", "2026-Q4", "phase-2026-2030", "rolling-30d"} <= set(
        started
    )
    assert "2027" not in started and "2027" in [p.id for p in plans.periods(NOW, False)]
    assert len(plans.periods(NOW, started_only=False)) == 10 * 5 + 2 + 1


def test_final_once_the_period_has_ended() -> None:
    plans = default_plans()
    assert final(plans.parse("2025", NOW), NOW)
    assert not final(plans.parse("2026", NOW), NOW)
    assert not final(plans.parse("phase-2026-2030", NOW), NOW)
    assert not final(plans.parse("rolling-30d", NOW), NOW)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "plans"
    shutil.copytree(DEFAULT_PLANS_DIR, folder)
    return folder


def _rewrite(path: Path, change: object) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def test_replacing_the_phase_2_file_changes_phase_2_only(tmp_path: Path) -> None:
    folder = _copy(tmp_path)

    def adopt(raw: dict) -> None:
        raw["provisional"], raw["note"] = False, None
        raw["criteria"][2]["targets"] = {"province_agency": 0.95}

    _rewrite(folder / "phase-2026-2030.yaml", adopt)
    plans = load_plans(folder)
    assert plans.by_id("phase-2026-2030").by_id("C03").targets[Tier.PROVINCE_AGENCY] == 0.95
    assert plans.by_id("phase-2021-2025") == default_plans().by_id("phase-2021-2025")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["criteria"][0].update(numerator="procedure_eligble"), "unknown measure"),
        (lambda raw: raw["criteria"][2].update(numerator="civil_servant_active"), "is a stock"),
        (lambda raw: raw["criteria"][0].update(targets={"province": 1.0}), "targets.province"),
        (lambda raw: raw["criteria"][0].update(targets={"province_agency": 80}), "C01"),
        (lambda raw: raw.update(plan_id="phase-2021-2026"), "must name its phase"),
        (lambda raw: raw.update(phase={"start": "2021-03-01", "end": "2026-01-01"}), "1 January"),
        (lambda raw: raw.update(target_date="2027-01-01"), "outside the plan's phase"),
        (lambda raw: raw.update(provisional=True, note=None), "says why"),
        (lambda raw: raw.pop("tiers"), "tiers"),
    ],
)
def test_a_bad_plan_file_is_refused_at_start(tmp_path: Path, change: object, message: str) -> None:
    folder = _copy(tmp_path)
    _rewrite(folder / "phase-2021-2025.yaml", change)
    with pytest.raises(ValueError, match=message) as refused:
        load_plans(folder)
    assert "phase-2021-2025.yaml" in str(refused.value)


def test_overlapping_phases_are_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    raw = yaml.safe_load(PHASE1.read_text(encoding="utf-8"))
    raw["plan_id"] = "phase-2025-2027"
    raw["phase"] = {"start": "2025-01-01", "end": "2028-01-01"}
    raw["target_date"] = "2027-12-31"
    (folder / "phase-2025-2027.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(ValueError, match="overlap"):
        load_plans(folder)


def test_a_plan_file_named_after_another_plan_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "phase-2026-2030.yaml").rename(folder / "phase2.yaml")
    with pytest.raises(ValueError, match="name it phase-2026-2030.yaml"):
        load_plans(folder)


def test_no_plan_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no plan file"):
        load_plans(tmp_path)
