"""The award dossier of the simulated province's 2025 (SPEC §7.3) opened with openpyxl: its
sheets, formats, print settings and every eligible unit's evidence."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from services.api.app import create_app
from services.scoring.processors import fold
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import CanonicalEvent, Tier
from thidua.contracts.periods import Period
from thidua.contracts.scorecard import Scorecard, UnitInfo, build_scorecard, rank_by_tier
from thidua.settings import ApiSettings
from thidua.simulate.generator import generate
from thidua.simulate.registry import default_registry


def simulated_2025(config: CriteriaConfig) -> list[Scorecard]:
    """The simulated province's 2025 scored by the scoring processors (as the workers do)."""
    events = [
        CanonicalEvent.model_validate({**e, "seq": n})
        for n, e in enumerate(
            generate(seed=154, start=date(2025, 1, 1), end=date(2026, 1, 1), scale=0.05)
        )
    ]
    counters = fold(events, indicator_ids=config.indicator_ids())
    flows = config.flow_measures()
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (unit, measure, day), value in counters.items():
        if day < "2026-01-01" and (measure not in flows or day >= "2025-01-01"):
            sums[unit][measure] += float(value)
    cards = [
        build_scorecard(
            config,
            UnitInfo(u.unit_id, u.name, u.tier, u.active_on(date(2025, 12, 31)), u.block),
            "2025",
            sums[u.unit_id],
            True,
        )
        for u in default_registry()
    ]
    return [c for group in rank_by_tier(cards).values() for c in group]


@pytest.fixture(scope="module")
def cards(config: CriteriaConfig) -> list[Scorecard]:
    return simulated_2025(config)


@pytest.fixture(scope="module")
def dossier_api(ch: Client, cards: list[Scorecard]) -> Iterator[TestClient]:
    def compute(client: Client, config: CriteriaConfig, period: Period) -> list[Scorecard]:
        return cards if period.id == "2025" else []

    settings = ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False)  # type: ignore[call-arg]
    with TestClient(create_app(settings, ch, compute=compute, warm=False)) as client:
        yield client


@pytest.fixture(scope="module")
def book(dossier_api: TestClient) -> Workbook:
    response = dossier_api.get("/v1/exports/award-dossier.xlsx", params={"period": "2025"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="ho-so-khen-thuong-2025.xlsx"' in response.headers["content-disposition"]
    return load_workbook(io.BytesIO(response.content))


def rows_from(sheet: Any, header_row: int) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(min_row=header_row, values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_sheets_in_order(book: Workbook, cards: list[Scorecard]) -> None:
    eligible = [c for c in cards if c.award_eligible]
    ranked_tiers = {c.unit.tier for c in cards if c.rank is not None}
    assert eligible and Tier.PROVINCE_AGENCY in ranked_tiers
    names = book.sheetnames
    assert names[0] == "Bìa"
    rankings = [n for n in names if n.startswith("Xếp hạng ")]
    assert len(rankings) == len(ranked_tiers)
    assert names[1 : 1 + len(rankings)] == rankings
    assert names[1 + len(rankings)] == "Danh sách khen thưởng"
    assert len(names) == 2 + len(rankings) + len(eligible)
    assert all(len(n) <= 31 for n in names)


def test_cover_states_plan_period_cutoff_and_finality(book: Workbook) -> None:
    cover = {r[0]: r[1] for r in book["Bìa"].iter_rows(min_row=4, max_row=13, values_only=True)}
    assert book["Bìa"]["A1"].value == "HỒ SƠ ĐỀ NGHỊ KHEN THƯỞNG"
    assert cover["Kế hoạch"].startswith("Kế hoạch 154/KH-UBND")
    assert cover["Mã kế hoạch"] == "phase-2021-2025"
    assert cover["Kỳ đánh giá"] == "Năm 2025 (2025)"
    assert cover["Thời gian"] == "01/01/2025 – 31/12/2025"
    assert cover["Số liệu tính đến"].startswith("01/01/2026 00:00")
    assert cover["Tình trạng số liệu"].startswith("Chính thức")  # 2025 has ended
    assert cover["Kế hoạch tạm áp dụng"] == "Chưa"
    assert "+07:00" in cover["Thời điểm lập"]


def test_ranking_sheets_formats_and_print_setup(book: Workbook, cards: list[Scorecard]) -> None:
    sheet = book["Xếp hạng cấp tỉnh"]
    rows = rows_from(sheet, 5)
    ranked = [c for c in cards if c.unit.tier == Tier.PROVINCE_AGENCY and c.rank is not None]
    assert [r["Mã đơn vị"] for r in rows] == [c.unit.unit_id for c in ranked]
    assert rows[0]["Hạng"] == 1 and isinstance(rows[0]["Tiêu chí đạt"], int)
    assert sheet["E6"].number_format == "#,##0.00"  # Điểm
    assert sheet["A6"].number_format == "#,##0"  # Hạng
    assert sheet.auto_filter.ref == f"A5:J{5 + len(rows)}"
    assert sheet.print_title_rows == "$5:$5"
    for each in book.worksheets:
        assert each.page_setup.orientation == "landscape", each.title
        assert int(each.page_setup.paperSize) == 9, each.title  # A4
        assert each.sheet_properties.pageSetUpPr.fitToPage, each.title


def test_award_list_and_every_eligible_units_evidence(
    book: Workbook, cards: list[Scorecard], config: CriteriaConfig
) -> None:
    eligible = [c for t in Tier for c in cards if c.unit.tier == t and c.award_eligible]
    awards = rows_from(book["Danh sách khen thưởng"], 5)
    assert [r["Mã đơn vị"] for r in awards] == [c.unit.unit_id for c in eligible]
    for row, card in zip(awards, eligible, strict=True):
        assert row["Tên đơn vị"] == card.unit.name
        assert row["Điểm"] == pytest.approx(card.score)
        sheet = book[row["Phụ lục minh chứng"]]
        assert card.unit.name in sheet["A1"].value
        assert sheet.print_title_rows == "$5:$5" and sheet.auto_filter.ref.startswith("A5:J")
        evidence = rows_from(sheet, 5)
        assert [e["Mã tiêu chí"] for e in evidence] == [
            c.id for c in config.for_tier(card.unit.tier)
        ]
        for line, result in zip(evidence, card.criteria, strict=True):
            assert line["Tử số"] == result.numerator and line["Mẫu số"] == result.denominator
            assert line["Giá trị"] == pytest.approx(result.value)
            assert line["Chỉ tiêu"] == pytest.approx(result.target)
            assert line["Đạt"] == "Có"  # eligible: every criterion met
        assert sheet["D6"].number_format == "#,##0" and sheet["F6"].number_format == "0.0%"
        assert isinstance(sheet["D6"].value, int)


def test_text_cells_are_text_and_quarters_are_refused(
    dossier_api: TestClient, book: Workbook
) -> None:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
    response = dossier_api.get("/v1/exports/award-dossier.xlsx", params={"period": "2025-Q3"})
    assert response.status_code == 422
    assert response.json()["type"].endswith("not-awardable")
