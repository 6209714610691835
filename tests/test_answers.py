"""Reading years, dates and names the way relatives write them."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.answers import (
    AnswerError,
    check_name,
    check_text,
    fold_name,
    parse_birth_year,
    parse_event_date,
    split_message,
)

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "year", "precision"),
    [
        ("1965", 1965, "year"),
        ("about 1965", 1965, "approximate"),
        ("шамамен 1965", 1965, "approximate"),
        ("примерно 1965 г.", 1965, "approximate"),
        ("1960s", 1960, "decade"),
        ("1960-шы жылдар", 1960, "decade"),
        ("1960-е", 1960, "decade"),
        ("١٩٦٥", 1965, "year"),
        ("don't know", None, "unknown"),
        ("білмеймін", None, "unknown"),
    ],
)
def test_birth_years_as_written(text: str, year: int | None, precision: str) -> None:
    parsed = parse_birth_year(text, today=TODAY)
    assert (parsed["year"], parsed["precision"]) == (year, precision)
    assert parsed["text"] == text


@pytest.mark.parametrize("text", ["1850", "2030", "", "sixty", "🙂🙂", "12"])
def test_impossible_birth_years_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_birth_year(text, today=TODAY)
    assert caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018", (2018, None, None, "year")),
        ("05.2018", (2018, 5, None, "month")),
        ("2018-05", (2018, 5, None, "month")),
        ("12.05.2018", (2018, 5, 12, "day")),
        ("May 2018", (2018, 5, None, "month")),
        ("мамыр 2018", (2018, 5, None, "month")),
        ("в марте 2017", (2017, 3, None, "month")),
        ("unknown", (None, None, None, "unknown")),
    ],
)
def test_detention_dates(text: str, expected: tuple[object, ...]) -> None:
    parsed = parse_event_date(text, today=TODAY)
    assert (parsed["year"], parsed["month"], parsed["day"], parsed["precision"]) == expected


@pytest.mark.parametrize("text", ["13.2018", "31.02.2018", "1985", "2031", "last spring"])
def test_bad_detention_dates(text: str) -> None:
    with pytest.raises(AnswerError):
        parse_event_date(text, today=TODAY)


@pytest.mark.parametrize(
    "name", ["Ерлан Нұрғалиұлы", "Erlan Nurgaliuly", "叶尔兰", "ئەرلان نۇرعاليۇلى"]
)
def test_names_in_any_script_are_kept_as_written(name: str) -> None:
    assert check_name(f"  {name} ") == name


@pytest.mark.parametrize("name", ["", "   ", "🙂🙂🙂", "123", "x" * 201])
def test_names_that_are_not_names(name: str) -> None:
    with pytest.raises(AnswerError):
        check_name(name)


def test_free_text_limit() -> None:
    assert check_text("Kulja") == "Kulja"
    with pytest.raises(AnswerError) as caught:
        check_text("x" * 10_000)
    assert caught.value.values["limit"] == 4000


def test_one_name_in_cyrillic_and_latin_folds_to_one_key() -> None:
    assert fold_name("Ерлан Нұрғалиұлы") == fold_name("Erlan Nurgaliuly")
    assert fold_name("НҰРҒАЛИҰЛЫ Ерлан") == fold_name("erlan nurgaliuly")


def test_long_text_is_split_not_cut() -> None:
    text = ("слово " * 3000).strip()
    parts = split_message(text, limit=4000)
    assert all(len(part) <= 4000 for part in parts)
    assert " ".join(parts).split() == text.split()
