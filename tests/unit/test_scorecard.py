import pytest

from thidua.contracts.events import Tier
from thidua.contracts.plans import default_plans
from thidua.contracts.scorecard import UnitInfo, build_scorecard, rank_scorecards

CFG = default_plans().plans[0]


def unit(
    uid: str, tier: Tier = Tier.PROVINCE_AGENCY, active: bool = True, block: str | None = None
) -> UnitInfo:
    return UnitInfo(uid, f"Đơn vị {uid}", tier, active, block)


def full_marks(tier: Tier) -> dict[str, float]:
    measures: dict[str, float] = {}
    for criterion in CFG.for_tier(tier):
        num, den = criterion.measures(tier)
        measures[num] = measures[den] = 10.0
    return measures


def test_c03_value_attainment_and_no_data() -> None:
    card = build_scorecard(
        CFG, unit("a"), "2025", {"dossier_online_full": 3, "dossier_received": 4}, awardable=True
    )
    c03 = next(c for c in card.criteria if c.id == "C03")
    assert c03.value == 0.75 and c03.target == 0.8 and not c03.met
    assert c03.attainment == pytest.approx(0.75 / 0.8)
    assert "C03" not in card.no_data and "C01" in card.no_data
    assert card.criteria_total == 16  # province_agency criteria of the plan
    assert card.score == pytest.approx(100 * (0.75 / 0.8) / 16)
    assert not card.award_eligible


def test_district_c13_counts_signed_online_workfiles() -> None:
    measures = {"workfile_online": 10, "workfile_online_signed": 4, "workfile_non_secret": 10}
    card = build_scorecard(CFG, unit("h", Tier.DISTRICT), "2025", measures, awardable=True)
    c13 = next(c for c in card.criteria if c.id == "C13")
    assert c13.value == 0.4 and c13.target == 0.8


def test_award_needs_every_criterion_met_in_an_awardable_period() -> None:
    for tier in Tier:
        card = build_scorecard(CFG, unit("x", tier), "2025", full_marks(tier), awardable=True)
        assert card.award_eligible and card.score == 100.0 and card.no_data == ()
    quarter = build_scorecard(
        CFG, unit("x"), "2025-Q3", full_marks(Tier.PROVINCE_AGENCY), awardable=False
    )
    assert not quarter.award_eligible


def test_enterprise_is_scored_on_e01_e02_only() -> None:
    card = build_scorecard(
        CFG,
        unit("dn", Tier.ENTERPRISE),
        "2025",
        {
            "indicator.E01.num": 1,
            "indicator.E01.den": 1,
            "indicator.E02.num": 0,
            "indicator.E02.den": 1,
        },
        awardable=True,
    )
    assert [c.id for c in card.criteria] == ["E01", "E02"]
    assert card.score == 50.0 and card.criteria_met == 1 and not card.award_eligible


def test_competition_ranking_with_ties_and_inactive_units() -> None:
    half = {"dossier_online_full": 4, "dossier_received": 10}
    cards = [
        build_scorecard(CFG, unit("b"), "2025", half, True),
        build_scorecard(CFG, unit("a"), "2025", half, True),
        build_scorecard(CFG, unit("c"), "2025", full_marks(Tier.PROVINCE_AGENCY), True),
        build_scorecard(CFG, unit("d"), "2025", {}, True),
        build_scorecard(
            CFG, unit("z", active=False), "2025", full_marks(Tier.PROVINCE_AGENCY), True
        ),
    ]
    ranked = rank_scorecards(cards)
    assert [(c.unit.unit_id, c.rank) for c in ranked] == [
        ("c", 1),
        ("a", 2),
        ("b", 2),
        ("d", 4),
        ("z", None),
    ]


def test_scores_equal_to_six_decimals_share_a_rank() -> None:
    base = build_scorecard(CFG, unit("a"), "2025", {}, True)
    from dataclasses import replace

    near = [replace(base, score=50.0000001), replace(base, unit=unit("b"), score=50.0000004)]
    assert [c.rank for c in rank_scorecards(near)] == [1, 1]
