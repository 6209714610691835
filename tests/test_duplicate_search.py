"""The name search on her machine: any part of a name, in any script, near spellings too."""

from __future__ import annotations

from typing import Any

import pytest

from bot.reviewing.duplicate_index import DuplicateIndex


def _index() -> DuplicateIndex:
    index = DuplicateIndex("k")
    people: list[dict[str, Any]] = [
        {"name": "Ерлан Нұрғалиұлы", "name_alt": "叶尔兰·努尔哈力"},
        {"name": "Айгүл Серікқызы"},
        {"name": "Гүлнар Бекқызы"},
    ]
    for number, person in enumerate(people, start=1):
        index.add(number, f"CASE-000{number}", {"detainees": [person]})
    return index


@pytest.mark.parametrize(
    "query",
    ["Ерлан", "Erlan", "ерлан", "Yerlan", "Нұрғалиұлы", "Nurgaliuly", "نۇرعاليۇلى", "Нұрғ",
     "Нурғалиулы Ерлан", "Erlan Nurgaliuli"],
)  # fmt: skip
def test_any_part_of_a_name_in_any_script_finds_the_case(query: str) -> None:
    assert _index().search(query) == ["CASE-0001"]


@pytest.mark.parametrize("query", ["Айгүл Нұрғалиұлы", "Ер", "Серік Ерлан", "Бек"])
def test_every_word_searched_for_must_be_in_the_name(query: str) -> None:
    assert "CASE-0001" not in _index().search(query)


def test_a_word_shared_by_two_names_finds_both() -> None:
    assert _index().search("қызы") == []  # a word's end is no word
    assert _index().search("Гүл") == ["CASE-0003"]  # a name's beginning is
    assert _index().search("Gulnar") == ["CASE-0003"]


def test_the_queue_gets_the_names_as_written_and_an_older_file_is_rebuilt() -> None:
    index = _index()
    assert index.names()["CASE-0001"] == ["Ерлан Нұрғалиұлы"]
    again = DuplicateIndex.from_json("k", index.to_json())
    assert again.names() == index.names() and again.search("Erlan") == ["CASE-0001"]
    older = index.to_json() | {"version": 1}
    assert DuplicateIndex.from_json("k", older).entries == {}
