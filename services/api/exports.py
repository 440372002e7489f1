"""Rankings and scorecards as tables for the annual report: CSV (UTF-8 with BOM, so Excel
reads Vietnamese; ``excel-vn``: ``;`` and decimal commas for a Vietnamese-locale Excel) and
XLSX (``services.api.xlsx``), with Vietnamese headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Literal

from openpyxl import Workbook

from services.api import xlsx
from services.api.exports_safe import csv_cell
from services.api.views import PeriodView
from services.api.xlsx import WIDE, Column
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.scorecard import CriterionResult, Scorecard

Dialect = Literal["excel", "excel-vn"]
YES, NO = "Có", "Chưa"
TIER_SHORT = {
    Tier.PROVINCE_AGENCY: "cấp tỉnh",
    Tier.DISTRICT: "cấp huyện",
    Tier.COMMUNE: "cấp xã",
    Tier.ENTERPRISE: "doanh nghiệp",
}

RANKING_COLUMNS: tuple[Column, ...] = (
    Column("Hạng", "int", 8),
    Column("Mã đơn vị", "text", 18),
    Column("Tên đơn vị", "text", WIDE),
    Column("Khối thi đua", "text", 16),
    Column("Điểm", "score", 10),
    Column("Tiêu chí đạt", "int", 10),
    Column("Tổng số tiêu chí", "int", 10),
    Column("Chưa có dữ liệu", "text", 20),
    Column("Ngày ngừng hoạt động", "text", 14),
    Column("Đơn vị kế thừa", "text", 18),
)
SCORECARD_COLUMNS: tuple[Column, ...] = (
    Column("Mã đơn vị", "text", 18),
    Column("Tên đơn vị", "text", WIDE),
    Column("Cấp", "text", 22),
    Column("Khối thi đua", "text", 16),
    Column("Hạng", "int", 8),
    Column("Điểm", "score", 10),
    Column("Mã tiêu chí", "text", 8),
    Column("Tiêu chí", "text", WIDE),
    Column("Tử số", "number", 12),
    Column("Mẫu số", "number", 12),
    Column("Giá trị", "ratio", 10),
    Column("Chỉ tiêu", "ratio", 10),
    Column("Đạt", "text", 16),
    Column("Mức hoàn thành", "ratio", 12),
)


def closed_at(card: Scorecard) -> str | None:
    """The unit's closing day (SPEC §7.2) when the store provides it, as dd/mm/yyyy."""
    moment: Any = getattr(card.unit, "closed_at", None) or card._extra.get("closed_at")
    if moment is None:
        return None
    text = moment if isinstance(moment, str) else moment.isoformat()
    year, month, day = text[:10].split("-")
    return f"{day}/{month}/{year}"


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
            closed_at(c),
            c.unit.successor_id if closed_at(c) else None,
        ]
        for c in view.ranked(tier, block)
        if c.rank is not None
    ]


def status(result: CriterionResult) -> str:
    if result.value is None:
        return "Chưa có dữ liệu"
    return "Đạt" if result.met else "Chưa đạt"


def tier_cards(view: PeriodView, tier: Tier | None) -> list[Scorecard]:
    cards = [c for c in view.cards if tier is None or c.unit.tier == tier]
    tier_order = list(Tier)
    cards.sort(key=lambda c: (tier_order.index(c.unit.tier), c.rank or 10**9, c.unit.unit_id))
    return cards


def scorecard_rows(view: PeriodView, config: CriteriaConfig, tier: Tier | None) -> list[list[Any]]:
    rows = []
    for card in tier_cards(view, tier):
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
                    status(result),
                    result.attainment,
                ]
            )
    return rows


def matrix(
    view: PeriodView, config: CriteriaConfig, tier: Tier
) -> tuple[list[Column], list[list[Any]]]:
    """Units × criteria of one tier: each criterion's value (a boolean as Có/Chưa, no data as
    "—"), ranked units first."""
    criteria = config.for_tier(tier)
    columns = [
        Column("Hạng", "int", 8),
        Column("Mã đơn vị", "text", 18),
        Column("Tên đơn vị", "text", WIDE),
        Column("Khối thi đua", "text", 14),
        Column("Điểm", "score", 10),
        Column("Tiêu chí đạt", "int", 10),
        *(Column(c.id, "ratio", 9) for c in criteria),
    ]
    rows = []
    for card in tier_cards(view, tier):
        by_id = {r.id: r for r in card.criteria}
        cells: list[Any] = []
        for criterion in criteria:
            result = by_id.get(criterion.id)
            if result is None or result.value is None:
                cells.append("—")
            elif criterion.boolean:
                cells.append(YES if result.met else NO)
            else:
                cells.append(result.value)
        rows.append(
            [
                card.rank,
                card.unit.unit_id,
                card.unit.name,
                card.unit.block or "",
                card.score,
                card.criteria_met,
                *cells,
            ]
        )
    return columns, rows


def scorecards_xlsx(view: PeriodView, config: CriteriaConfig, tier: Tier | None) -> bytes:
    """The long sheet (one row per unit and criterion), then one units × criteria sheet per
    tier."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    taken: set[str] = set()
    sheet.title = xlsx.sheet_title("Phiếu điểm", taken)
    xlsx.write_table(sheet, SCORECARD_COLUMNS, scorecard_rows(view, config, tier))
    xlsx.print_setup(sheet, f"Phiếu điểm — {view.period.id}")
    for each in Tier:
        if (tier is not None and each != tier) or not any(c.unit.tier == each for c in view.cards):
            continue
        columns, rows = matrix(view, config, each)
        wide = book.create_sheet(xlsx.sheet_title(f"Bảng tiêu chí {TIER_SHORT[each]}", taken))
        xlsx.write_table(wide, columns, rows)
        xlsx.print_setup(wide, f"{config.tiers.get(each, each.value)} — {view.period.id}")
    return xlsx.save(book)


def to_csv(columns: Sequence[Column], rows: list[list[Any]], dialect: Dialect = "excel") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", delimiter=";" if dialect == "excel-vn" else ",")
    writer.writerow([column.header for column in columns])
    comma = dialect == "excel-vn"
    for row in rows:
        writer.writerow(["" if v is None else _csv_value(v, comma) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _csv_value(value: Any, decimal_comma: bool) -> Any:
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float):
        value = round(value, 6)
        if value.is_integer():
            return int(value)
        text = repr(value)
        return text.replace(".", ",") if decimal_comma else text
    return csv_cell(value)
