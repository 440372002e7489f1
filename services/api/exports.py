"""Rankings and scorecards as tables for the annual report: CSV (UTF-8 with BOM, so Excel
reads Vietnamese) and XLSX, with Vietnamese headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.api.exports_safe import append_row, csv_cell
from services.api.views import PeriodView
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.scorecard import Scorecard

# (header, kind): kind picks the XLSX number format.
RANKING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Hạng", "int"),
    ("Mã đơn vị", "text"),
    ("Tên đơn vị", "text"),
    ("Khối thi đua", "text"),
    ("Điểm", "score"),
    ("Tiêu chí đạt", "int"),
    ("Tổng số tiêu chí", "int"),
    ("Chưa có dữ liệu", "text"),
)
SCORECARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Mã đơn vị", "text"),
    ("Tên đơn vị", "text"),
    ("Cấp", "text"),
    ("Khối thi đua", "text"),
    ("Hạng", "int"),
    ("Điểm", "score"),
    ("Mã tiêu chí", "text"),
    ("Tiêu chí", "text"),
    ("Tử số", "number"),
    ("Mẫu số", "number"),
    ("Giá trị", "ratio"),
    ("Chỉ tiêu", "ratio"),
    ("Đạt", "text"),
    ("Mức hoàn thành", "ratio"),
)
_FORMATS = {"int": "0", "score": "0.00", "number": "0.##", "ratio": "0.0%"}


def ranking_rows(view: PeriodView, tier: Tier, block: str | None) -> list[list[Any]]:
    return [
        [
            c.rank,
            c.unit.unit_id,
            c.unit.name,
            c.unit.block or "",
            c.score,
            c.criteria_met,
            c.criteria_total,
            ", ".join(c.no_data),
        ]
        for c in view.ranked(tier, block)
        if c.rank is not None
    ]


def scorecard_rows(view: PeriodView, config: CriteriaConfig, tier: Tier | None) -> list[list[Any]]:
    cards: list[Scorecard] = [c for c in view.cards if tier is None or c.unit.tier == tier]
    tier_order = list(Tier)
    cards.sort(key=lambda c: (tier_order.index(c.unit.tier), c.rank or 10**9, c.unit.unit_id))
    rows = []
    for card in cards:
        for result in card.criteria:
            rows.append(
                [
                    card.unit.unit_id,
                    card.unit.name,
                    config.tiers.get(card.unit.tier, card.unit.tier.value),
                    card.unit.block or "",
                    card.rank,
                    card.score,
                    result.id,
                    config.by_id(result.id).label,
                    result.numerator,
                    result.denominator,
                    result.value,
                    result.target,
                    "Đạt"
                    if result.met
                    else ("Chưa có dữ liệu" if result.value is None else "Chưa đạt"),
                    result.attainment,
                ]
            )
    return rows


def to_csv(columns: Sequence[tuple[str, str]], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _ in columns])
    for row in rows:
        writer.writerow(["" if v is None else _csv_value(v) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _csv_value(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else csv_cell(value)


def to_xlsx(title: str, columns: Sequence[tuple[str, str]], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    append_row(sheet, [header for header, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, row)
    for index, (header, kind) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        fmt = _FORMATS.get(kind)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = fmt
        sheet.column_dimensions[letter].width = 40 if header in ("Tên đơn vị", "Tiêu chí") else 14
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
