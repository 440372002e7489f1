"""Exports never hold a formula (SPEC §7.3): text a source system sent (a unit's name, its
block) must reach the spreadsheet as text, whatever it starts with.

- CSV: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'``
  (OWASP "CSV injection"), which spreadsheets show and never evaluate.
- XLSX: every ``str`` is written as a text cell; openpyxl would otherwise store a value starting
  with ``=`` as a live formula.

Every export (rankings, scorecards, the award dossier) writes its cells through these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def append_row(sheet: Worksheet, row: Iterable[Any]) -> None:
    """``sheet.append(row)`` with every text cell kept as text (never a formula)."""
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
