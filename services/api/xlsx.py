"""XLSX building blocks shared by every export: typed columns, Vietnamese headers, print setup.

Every text cell goes through :func:`put_text`, the one place that decides how a string is
stored, so formula neutralisation (SPEC §7.3: exports never hold a formula) can be made or
changed there alone. Numbers go through :func:`put_number` with the column's format.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# Excel format codes (the decimal and thousands marks follow the reader's locale).
FORMATS = {
    "int": "#,##0",
    "number": "#,##0",  # counts; a fractional one gets NUMBER_FRACTION
    "score": "#,##0.00",
    "ratio": "0.0%",
}
NUMBER_FRACTION = "#,##0.00"
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
HEADER_FONT = Font(bold=True)
WIDE = 42
NARROW = 14
INVALID_SHEET_CHARS = str.maketrans({c: "-" for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | int | number | score | ratio
    width: float = NARROW


def put_text(cell: Cell, value: object) -> None:
    """A text cell, stored as a string whatever it starts with (never a formula)."""
    cell.value = str(value)
    cell.data_type = "s"


def put_number(cell: Cell, value: float | int, kind: str) -> None:
    if isinstance(value, float) and value.is_integer() and kind in ("int", "number"):
        value = int(value)
    cell.value = value
    fmt = FORMATS.get(kind, "General")
    if kind == "number" and isinstance(value, float):
        fmt = NUMBER_FRACTION
    cell.number_format = fmt


def put(cell: Cell, value: Any, kind: str) -> None:
    if value is None:
        return
    if kind == "text" or isinstance(value, str) or isinstance(value, bool):
        put_text(cell, value)
    else:
        put_number(cell, value, kind)


def sheet_title(text: str, taken: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, none of []:*?/\\)."""
    base = text.translate(INVALID_SHEET_CHARS).strip("'")[:31]
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def write_table(
    sheet: Worksheet, columns: Sequence[Column], rows: Sequence[Sequence[Any]], first_row: int = 1
) -> None:
    """Header at ``first_row`` (repeated on every printed page), rows below, an autofilter
    over the whole table, panes frozen below the header."""
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(first_row, index)
        put_text(cell, column.header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for offset, row in enumerate(rows, start=1):
        for index, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            put(sheet.cell(first_row + offset, index), value, column.kind)
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A{first_row}:{last}{first_row + max(len(rows), 1)}"
    sheet.freeze_panes = f"A{first_row + 1}"
    sheet.print_title_rows = f"{first_row}:{first_row}"


def print_setup(sheet: Worksheet, title: str) -> None:
    """A4 landscape, one page wide, page numbers in the footer."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.oddHeader.center.text = title.replace("&", "&&")
    sheet.oddFooter.right.text = "Trang &P/&N"


def table_book(title: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> bytes:
    """A one-sheet workbook holding one table."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title(title, set())
    write_table(sheet, columns, rows)
    print_setup(sheet, title)
    return save(book)


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
