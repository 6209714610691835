"""Dates are dates: worded dates keep the day in every language, the UN draft prints them in
English beside her words, and the urgent procedure counts from the latest possible day on the
day the draft is made."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Catalogs, translate
from bot.reviewing.un import FSI, PDI, PRESENT, readiness, write_draft
from bot.services.answers import AnswerError, english_date, parse_event_date
from bot.services.intake import BY_NAME, accept, new_draft
from bot.services.urgency import is_urgent, latest_day
from bot.tote import to_arabic
from tests.test_un import FULL, payload, text_of

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    Catalogs.load().install()


@pytest.mark.parametrize(
    "text",
    [
        "12 мамыр 2018",
        "2018 жылғы 12 мамыр",
        "2018 жылы 12 мамырда",
        "12 мая 2018",
        "12-го мая 2018 г.",
        "12 May 2018",
        "May 12, 2018",
        "12th May 2018",
        "12 مامىر 2018",  # Arabic-script Kazakh, as she would type it
        to_arabic("2018 жылы 12 мамырда"),  # and as the bot's own transliteration writes it
    ],
)
def test_worded_dates_keep_the_day_in_every_language(text: str) -> None:
    parsed = parse_event_date(text, today=TODAY)
    assert (parsed["day"], parsed["month"], parsed["year"], parsed["precision"]) == (
        12,
        5,
        2018,
        "day",
    )
    assert parsed["text"] == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 янв. 2019", (3, 1, 2019, "day")),  # Babel's abbreviated forms
        ("1 Sept 2019", (1, 9, 2019, "day")),
        ("10 қазан 2019", (10, 10, 2019, "day")),
        (to_arabic("3 шілде 2019"), (3, 7, 2019, "day")),  # «шілде» reads back as «шылде»
        (to_arabic("қыркүйек 2019"), (None, 9, 2019, "month")),
        ("в мае 2018", (None, 5, 2018, "month")),  # the prepositional, which CLDR lacks
        ("желтоқсанда 2017", (None, 12, 2017, "month")),
        ("maybe 2018", (None, None, 2018, "year")),  # not "May"
    ],
)
def test_month_words_from_babel_in_their_forms(text: str, expected: tuple[object, ...]) -> None:
    parsed = parse_event_date(text, today=TODAY)
    assert (parsed["day"], parsed["month"], parsed["year"], parsed["precision"]) == expected


@pytest.mark.parametrize("text", ["31 February 2018", "30 ақпан 2018", "32 мая 2018"])
def test_impossible_worded_days_are_refused(text: str) -> None:
    with pytest.raises(AnswerError):
        parse_event_date(text, today=TODAY)


@pytest.mark.parametrize("locale", ["kk", "ru", "en", "kk_Arab"])
def test_the_intake_asks_for_the_full_date(locale: str) -> None:
    asked = translate(locale, BY_NAME["detained"].question)
    assert asked != BY_NAME["detained"].question or locale == "en"
    assert "12.05.2018" in asked and "05.2018" in asked


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"year": 2018, "month": 5, "day": 12, "precision": "day"}, "12 May 2018"),
        ({"year": 2018, "month": 5, "precision": "month"}, "May 2018"),
        ({"year": 2018, "precision": "year"}, "2018"),
        ({"year": None, "precision": "unknown", "text": "?"}, "unknown"),
    ],
)
def test_the_english_date(value: dict[str, Any], shown: str) -> None:
    assert english_date(value) == shown


def test_the_draft_prints_the_english_date_beside_her_words(tmp_path: Path) -> None:
    detained = parse_event_date("12 мамыр 2018", today=TODAY)
    case = payload(dict(FULL, detained=detained))
    assert readiness(case)[0].elements["date"] == PRESENT
    out = tmp_path / "draft.odt"
    write_draft(out, case, 1, code="K7QF-M2XD", summary="", received=datetime(2018, 6, 1))
    lines = text_of(out)[1].splitlines()
    assert lines[lines.index("Date: 12 May 2018") + 1] == f"Her words: {FSI}12 мамыр 2018{PDI}"
    assert "Precision: day" in lines


@pytest.mark.parametrize(
    ("text", "latest"),
    [("11.2024", date(2024, 11, 30)), ("2024", date(2024, 12, 31)), ("2.2024", date(2024, 2, 29))],
)
def test_the_latest_possible_day(text: str, latest: date) -> None:
    assert latest_day({"detained": parse_event_date(text, today=TODAY)}) == latest


def test_a_month_reported_77_days_after_its_last_day_is_urgent() -> None:
    # The intake's "possibly urgent" flag uses the same rule (bot/services/intake.py).
    person = {"detained": parse_event_date("11.2024", today=TODAY)}
    assert is_urgent(person, date(2025, 2, 15))


@pytest.mark.parametrize(("days", "urgent"), [(89, True), (91, False)])
def test_urgent_at_89_and_91_days_after_the_latest_day_when_the_draft_is_made(
    tmp_path: Path, days: int, urgent: bool
) -> None:
    person = dict(FULL, detained={"year": 2024, "month": 11, "precision": "month"})
    made = date(2024, 11, 30) + timedelta(days=days)
    out = tmp_path / "draft.odt"
    write_draft(
        out,
        payload(person),
        1,
        code="K7QF-M2XD",
        summary="",
        received=datetime(2024, 12, 1),
        made=made,
    )
    lines = text_of(out)[1].splitlines()
    line = next(line for line in lines if line.startswith("Urgent procedure:"))
    assert line.startswith("Urgent procedure: yes") is urgent
    if urgent:
        assert (
            "at most 89 days since 30 November 2024 (the latest possible day), 1 day left of "
            "the three months on 27 February 2025" in line
        )


def test_a_draft_made_after_the_window_is_not_urgent_though_the_report_was(
    tmp_path: Path,
) -> None:
    person = dict(FULL, detained={"year": 2024, "month": 11, "day": 2, "precision": "day"})
    assert is_urgent(person, date(2024, 11, 20))  # when she reported it
    out = tmp_path / "draft.odt"
    write_draft(
        out,
        payload(person),
        1,
        code="K7QF-M2XD",
        summary="",
        received=datetime(2024, 11, 20),
        made=date(2025, 3, 20),
    )
    lines = text_of(out)[1].splitlines()
    assert (
        "Urgent procedure: no: more than three months (urgent too only if linked to an urgent case)"
    ) in lines


def test_three_months_to_a_year_is_shown_for_a_person_linked_to_an_urgent_one(
    tmp_path: Path,
) -> None:
    older = dict(FULL, detained={"year": 2024, "month": 8, "day": 1, "precision": "day"})
    recent = dict(FULL, detained={"year": 2024, "month": 12, "day": 1, "precision": "day"})
    case = payload(older)
    case["detainees"].append(recent)
    out = tmp_path / "draft.odt"
    write_draft(
        out,
        case,
        1,
        code="K7QF-M2XD",
        summary="",
        received=datetime(2024, 12, 5),
        made=date(2024, 12, 20),
        linked=["person 2 of this case"],
    )
    assert (
        "Urgent procedure: possibly: three months to a year old, and linked to a case under the "
        "urgent procedure (person 2 of this case)" in text_of(out)[1].splitlines()
    )


def test_the_intake_flags_a_month_that_may_be_under_three_months_old() -> None:
    """The bot's "possibly urgent" bit, set when she answers, counts the same way."""
    draft: Any = new_draft() | {"step": "detained"}
    value = parse_event_date("11.2024", today=date(2025, 2, 15))
    accept(draft, value, value, today=date(2025, 2, 15))
    assert draft["detainees"][0]["urgent"] is True


def test_a_numeric_day_is_not_lost_to_a_month_word_beside_it() -> None:
    parsed = parse_event_date("12.03.2018, в марте", today=TODAY)
    assert (parsed["day"], parsed["month"], parsed["year"]) == (12, 3, 2018)
