"""The award dossier of the simulated province's 2025 (SPEC §7.3) opened with openpyxl: its
sheets, formats, print settings and every eligible unit's evidence.

The province's 2025 (its merged districts and departments included) is generated, stored in its
own chDB and scored by the batch recompute from the raw events (streaming equals batch, tests/
store); its own package, as chDB opens one path per process."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from services.api.app import create_app
from services.writer.rows import EVENTS_RAW, event_row
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import CanonicalEvent, Tier
from thidua.contracts.periods import Period
from thidua.contracts.plans import Plans, default_plans
from thidua.contracts.scorecard import Scorecard
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate
from thidua.store.recompute import recompute_period
from tools.simulate.generator import generate


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    events = [
        CanonicalEvent.model_validate({**e, "seq": n})
        for n, e in enumerate(
            generate(seed=154, start=date(2025, 1, 1), end=date(2026, 1, 1), scale=0.05)
        )
    ]
    client = get_client(f"chdb://{tmp_path_factory.mktemp('dossier') / 'chdb'}")
    migrate(client, progress=lambda _: None)
    rows = [event_row(e) for e in events]
    for start in range(0, len(rows), 50_000):
        client.insert(
            EVENTS_RAW.table, rows[start : start + 50_000], column_names=list(EVENTS_RAW.columns)
        )
    yield client
    client.close()


@pytest.fixture(scope="module")
def cards(province: Client) -> list[Scorecard]:
    plans = default_plans()
    return recompute_period(province, plans, plans.parse("2025"))


@pytest.fixture(scope="module")
def config() -> CriteriaConfig:
    plans = default_plans()
    return plans.for_period(plans.parse("2025"))


@pytest.fixture(scope="module")
def dossier_api(province: Client, cards: list[Scorecard]) -> Iterator[TestClient]:
    def compute(client: Client, plans: Plans, period: Period) -> list[Scorecard]:
        return cards if period.id == "2025" else recompute_period(client, plans, period)

    settings = ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False)  # type: ignore[call-arg]
    with TestClient(create_app(settings, province, compute=compute, warm=False)) as client:
        yield client


@pytest.fixture(scope="module")
def book(dossier_api: TestClient) -> Workbook:
    response = dossier_api.get("/v1/exports/award-dossier.xlsx", params={"period": "2025"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="ho-so-khen-thuong-2025.xlsx"' in response.headers["content-disposition"]
    assert response.headers["x-thidua-plan-id"] == "phase-2021-2025"
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


def test_districts_ranked_as_of_their_closing(book: Workbook, cards: list[Scorecard]) -> None:
    """SPEC §7.2: the districts abolished on 2025-07-01 are ranked in 2025, with their closing
    day and successor; never award-eligible."""
    rows = rows_from(book["Xếp hạng cấp huyện"], 5)
    districts = [c for c in cards if c.unit.tier == Tier.DISTRICT and c.rank is not None]
    assert len(rows) == len(districts) > 0
    assert {r["Ngày ngừng hoạt động"] for r in rows} == {"01/07/2025"}
    assert all(r["Đơn vị kế thừa"] for r in rows)
    assert not any(c.award_eligible for c in districts)


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
