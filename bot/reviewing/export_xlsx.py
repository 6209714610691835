"""The xlsx export: the CSV's rows and columns, for people who open exports in Excel.

Every cell is written as text (an inline string; an empty answer is an empty cell), so
nothing in it is ever a formula, a number or a date: `=HYPERLINK(…)` stays those characters,
`+7 701 555 0101` keeps its plus, and no `'` is added (that is the CSV's rule, for
importers). docs/export.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

# What XML 1.0 cannot hold: control characters, lone surrogates, U+FFFE and U+FFFF.
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel holds at most this many UTF-16 units in a cell; a longer one is cut, and says so.
CELL_LIMIT = 32767
CUT = " […]"
# Widths (in characters) for the columns that hold long text; the others fit their header.
WIDE = {"title": 32, "narrative": 60, "attachments": 40, "reason": 40, "steps_taken": 40}
NARROWEST, WIDEST = 10, 30


def text_cell(value: str) -> str:
    """A value as an xlsx cell can hold it: unwritable characters shown as U+FFFD, cut at
    Excel's limit with a visible mark."""
    value = UNWRITABLE.sub("\ufffd", value)
    units = value.encode("utf-16-le")
    if len(units) // 2 <= CELL_LIMIT:
        return value
    keep = (CELL_LIMIT - len(CUT)) * 2
    return units[:keep].decode("utf-16-le", errors="ignore") + CUT


def write_xlsx(target: BinaryIO, columns: list[str], rows: Iterable[list[str]]) -> None:
    """Write one sheet: a frozen header row of `columns`, then `rows`, every cell text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.freeze_panes = "A2"
    for number, column in enumerate(columns, start=1):
        width = WIDE.get(column, min(max(len(column) + 2, NARROWEST), WIDEST))
        sheet.column_dimensions[get_column_letter(number)].width = width
    bold = Font(bold=True)
    try:
        sheet.append([_text(sheet, column, bold) for column in columns])
        for row in rows:
            sheet.append([_text(sheet, value) for value in row])
        book.save(target)
    finally:
        # openpyxl writes the sheet through a temporary file and removes it when it saves;
        # if the export fails first, it goes now rather than at exit.
        spool = getattr(getattr(sheet, "_writer", None), "out", None)
        if spool is not None:
            Path(spool).unlink(missing_ok=True)


def _text(sheet: object, value: str, font: Font | None = None) -> WriteOnlyCell | None:
    if not value:
        return None  # an empty cell, not an empty string (which openpyxl writes as no text)
    cell = WriteOnlyCell(sheet, value=text_cell(value))
    # openpyxl reads a value starting with "=" as a formula: it is her text.
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell
