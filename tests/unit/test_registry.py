"""Units over time (SPEC §7.2), pure: states by day, closing, standing in a period, owners."""

from datetime import date, datetime, timedelta

from thidua.contracts.events import Tier, to_utc_micros
from thidua.contracts.periods import LOCAL_TZ, parse_period
from thidua.contracts.registry import Registry, UnitVersion
from thidua.contracts.scorecard import UnitInfo

_seq = iter(range(1, 1_000_000))


def v(unit: str, when: str, active: bool = True, successor: str | None = None,
      name: str | None = None, tier: Tier = Tier.DISTRICT) -> UnitVersion:  # fmt: skip
    moment = datetime.fromisoformat(when).replace(tzinfo=LOCAL_TZ)
    info = UnitInfo(unit, name or unit, tier, active, successor_id=successor)
    return UnitVersion(to_utc_micros(moment), next(_seq), info)


REFORM = [
    v("H1", "2021-01-01", name="UBND huyện Một"),
    v("H1", "2023-05-10 09:30", name="UBND thành phố Một"),
    v("H1", "2025-07-01", active=False, successor="X1"),
    v("X1", "2025-07-01", tier=Tier.COMMUNE),
    v("S1", "2021-01-01", tier=Tier.PROVINCE_AGENCY),
    v("S1", "2025-03-01", active=False, successor="S2", tier=Tier.PROVINCE_AGENCY),
    v("S2", "2021-01-01", tier=Tier.PROVINCE_AGENCY),
    v("S2", "2026-02-01", active=False, successor="S3", tier=Tier.PROVINCE_AGENCY),
    v("S3", "2026-02-01", tier=Tier.PROVINCE_AGENCY),
    v("D1", "2021-01-01"),
    v("D1", "2024-06-15 14:00", active=False),  # dissolved: no successor
]


def test_names_as_of_the_period() -> None:
    registry = Registry(REFORM)
    assert registry.standing("H1", parse_period("2021")).info.name == "UBND huyện Một"
    assert registry.standing("H1", parse_period("2024")).info.name == "UBND thành phố Một"
    assert registry.standing("H1", parse_period("2023-Q1")).info.name == "UBND huyện Một"


def test_a_unit_closed_inside_the_period_is_ranked_as_of_its_closing() -> None:
    standing = Registry(REFORM).standing("H1", parse_period("2025"))
    assert standing is not None and standing.ranked
    assert standing.until == date(2025, 7, 1)
    assert standing.info.active and standing.info.name == "UBND thành phố Một"
    assert standing.info.closed_at == datetime(2025, 7, 1, tzinfo=LOCAL_TZ)
    assert standing.info.successor_id == "X1"
    phase = Registry(REFORM).standing("H1", parse_period("phase-2021-2025"))
    assert phase is not None and phase.ranked and phase.until == date(2025, 7, 1)


def test_a_unit_closed_before_the_period_is_not_ranked() -> None:
    registry = Registry(REFORM)
    standing = registry.standing("H1", parse_period("2026"))
    assert standing is not None and not standing.ranked and not standing.info.active
    assert registry.standing("H1", parse_period("2025-Q3")).ranked is False  # closed on day 1
    assert registry.standing("H1", parse_period("2025-Q2")).info.closed_at is None  # open at end
    assert registry.standing("X1", parse_period("2024")) is None  # not yet registered


def test_a_closing_inside_a_day_takes_the_whole_day() -> None:
    standing = Registry(REFORM).standing("D1", parse_period("2024"))
    assert standing.ranked and standing.until == date(2024, 6, 15)
    assert standing.info.closed_at == datetime(2024, 6, 15, 14, 0, tzinfo=LOCAL_TZ)
    assert standing.info.successor_id is None


def test_owners_follow_successors_transitively_by_day() -> None:
    registry = Registry(REFORM)
    assert registry.owner("H1", date(2025, 6, 30)) == "H1"
    assert registry.owner("H1", date(2025, 7, 1)) == "X1"
    assert registry.owner("S1", date(2025, 2, 28)) == "S1"
    assert registry.owner("S1", date(2025, 3, 1)) == "S2"
    assert registry.owner("S1", date(2026, 2, 1)) == "S3"  # S1 → S2 → S3
    assert registry.owner("D1", date(2025, 1, 1)) == "D1"  # dissolved: data stays
    assert registry.owner("unregistered", date(2025, 1, 1)) == "unregistered"


def test_a_cycle_of_successors_leaves_the_data_with_its_unit() -> None:
    registry = Registry([v("A", "2021-01-01", False, "B"), v("B", "2021-01-01", False, "A")])
    assert registry.owner("A", date(2022, 1, 1)) == "A"


def test_ownership_intervals_cover_exactly_the_days_owned_by_another() -> None:
    registry = Registry(REFORM)
    intervals = registry.ownership_intervals()
    assert ("H1", date(2025, 7, 1), date.max, "X1") in intervals
    assert ("S1", date(2025, 3, 1), date(2026, 2, 1), "S2") in intervals
    assert ("S1", date(2026, 2, 1), date.max, "S3") in intervals
    day = date(2024, 1, 1)
    while day < date(2027, 1, 1):
        for unit in registry.units():
            owner = next((o for u, lo, hi, o in intervals if u == unit and lo <= day < hi), unit)
            assert owner == registry.owner(unit, day), (unit, day)
        day += timedelta(days=7)


def test_arrival_order_does_not_matter() -> None:
    forward, backward = Registry(REFORM), Registry(list(reversed(REFORM)))
    for period in ("2024", "2025", "2026", "phase-2021-2025"):
        assert forward.standings(parse_period(period)) == backward.standings(parse_period(period))


def test_equal_time_later_acceptance_wins() -> None:
    first = v("U", "2025-01-01", name="Trước")
    second = UnitVersion(first.time_us, first.seq + 1, UnitInfo("U", "Sau", Tier.COMMUNE, True))
    assert Registry([second, first]).state("U", date(2025, 1, 1)).name == "Sau"
