"""Names as they are: no hidden characters in names, visible ones in documents."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.reviewing.un import FSI, PDI, write_draft
from bot.services.answers import check_name, clean_name, show_hidden
from tests.harness import Harness
from tests.scenario import PERSONS, walk_intake
from tests.test_un import FULL, payload, text_of

RLO, ZWSP, ZWNJ, ZWJ, BOM, LRI, PDI_ = (
    "\u202e",
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u2066",
    "\u2069",
)
# A name that would print reversed ("ylugilaruN nalrE") and hide a break in a search.
TRICKED = f"{RLO}Ерлан{ZWSP} Нұрғали{BOM}ұлы{LRI}"
# Arabic-script Kazakh where ZWNJ is spelling: it keeps ە from joining the next letter.
ARABIC = f"ەرلان نۇرعالي{ZWNJ}ۇلى"


def test_format_characters_leave_a_name_but_spelling_joiners_stay() -> None:
    assert check_name(TRICKED) == "Ерлан Нұрғалиұлы"
    assert check_name(ARABIC) == ARABIC
    # ZWJ between Arabic letters, past a combining mark, stays too.
    assert check_name(f"مُ{ZWJ}حمد") == f"مُ{ZWJ}حمد"
    # A joiner next to a space, a Latin letter or at the end is not spelling.
    assert clean_name(f"Erlan{ZWNJ}Nur ەرلان{ZWNJ} {ZWJ}ب") == "ErlanNur ەرلان ب"
    # Right-to-left marks and isolates are stripped from Arabic-script names as well.
    assert check_name(f"\u2067{ARABIC}\u200f{PDI_}") == ARABIC


def test_free_text_keeps_its_characters_but_documents_show_them() -> None:
    text = f"Құлжа{RLO}, 2018"
    assert show_hidden(text) == "Құлжа‹U+202E›, 2018"
    assert show_hidden(ARABIC) == ARABIC


async def test_a_tricked_name_comes_out_clean_in_the_sealed_answer(harness: Harness) -> None:
    person = dict(PERSONS[0], name=TRICKED, alt=ARABIC)
    code = await walk_intake(harness.user(4711), locale="kk", persons=[person])
    opened = await harness.reviewer_tool().show(code)
    detained = opened.payload["detainees"][0]
    assert detained["name"] == "Ерлан Нұрғалиұлы"
    assert detained["name_alt"] == ARABIC and ZWNJ in detained["name_alt"]


def test_the_un_draft_isolates_names_and_shows_what_survives(tmp_path: Path) -> None:
    # A record sealed before names were cleaned, and free text, which is never cleaned.
    person = dict(FULL, name=TRICKED, detained_place=f"Құлжа{RLO} 12", name_alt=ARABIC)
    case = payload(person, name_ok=True)
    case["testifier"]["own_name"] = f"Гүлбаһрам{PDI_}"
    out = tmp_path / "draft.odt"
    write_draft(
        out,
        case,
        1,
        code="K7QF-M2XD",
        summary=f"He was taken{ZWSP} at night.",
        received=datetime(2018, 6, 1),
        answers=[f"{RLO}police"],
    )
    _headings, body = text_of(out)
    lines = body.splitlines()
    shown = "‹U+202E›Ерлан‹U+200B› Нұрғали‹U+FEFF›ұлы‹U+2066›"
    assert f"Name as written: {FSI}{shown}{PDI}" in lines
    assert f"Name as written: {FSI}{ARABIC}{PDI}" in lines
    assert f"Name of the source: {FSI}Гүлбаһрам‹U+2069›{PDI}" in lines
    assert any(line.startswith(f"Latin transliteration: {FSI}Erlan") for line in lines)
    assert "Place: Құлжа‹U+202E› 12" in lines
    assert "‹U+202E›police" in lines and "He was taken‹U+200B› at night." in lines
    # The only format characters left in the document are the isolates around names.
    hidden = {char for char in body if char in (RLO, ZWSP, BOM, LRI)}
    assert hidden == set()
    assert body.count(FSI) == body.count(PDI) == 5


async def test_hidden_characters_in_free_text_are_shown_in_spreadsheets(harness: Harness) -> None:
    """Free text keeps her characters, but a bidi override that survived in it is shown in
    the CSV and xlsx a partner opens, never left to reorder the cell."""
    from bot.models import Case
    from bot.reviewing.export_csv import table_rows

    user = harness.user(user_id=4390, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    opened = await harness.reviewer_tool().show(code)
    payload = dict(opened.payload)
    payload["narrative"] = [{"text": "He was taken \u202eon Monday"}]
    case = Case(code=code, status=opened.status, grade=opened.grade, locale="en")
    (row,) = table_rows(case, payload, internal=True)
    assert "\u202e" not in "".join(row.values())
    assert "‹U+202E›on Monday" in row["narrative"]
