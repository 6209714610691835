"""A reviewer's duplicate index: a file on her own machine, encrypted under her key.

Per case (by its row id, with its code): each detainee's names as written (the queue shows
them) and folded (`fold_name`), birth year, hometown and ID number; and the highest case id
it has seen. The server keeps nothing
derived from names or ID numbers: this file is the only index, and only her key opens it.

Matching never compares every pair of 10,000 cases. People are grouped by folded name ("same
name"), by ID number ("same ID number") and by birth year and hometown; names are compared
with rapidfuzz only inside a birth year and hometown group ("similar name").

The file is sealed under her key (bot/reviewing/local_file.py): deleted or altered, it is
rebuilt from the cases.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.case import UNKNOWN
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.local_file import open_local, seal_local
from bot.services.answers import fold_name

MAGIC = b"aigaq-duplicates-v1\n"
VERSION = 2  # 2: names as written kept too (an older file is rebuilt from the cases)
PURPOSE = "duplicate index"
SIMILAR = 90  # rapidfuzz token-sort ratio over folded names
# One word searched for against one word of a name (a near spelling: Yerlan, Erlan).
SIMILAR_WORD = 85
PREFIX = 3  # a word of at least this many letters also finds the words it begins
SUFFIX = ".duplicates"
SAME_ID, SAME_NAME, SIMILAR_NAME = "same ID number", "same name", "similar name"
# A pair that matches several ways is given the first reason that holds, in this order.
STRENGTH = {SAME_NAME: 3, SAME_ID: 2, SIMILAR_NAME: 1}


def beside(key_file: Path) -> Path:
    """Where her index lives unless she says otherwise: next to her key file."""
    return key_file.with_name(key_file.name + SUFFIX)


@dataclass(frozen=True)
class Person:
    """What the index keeps of one detainee: nothing else of the case."""

    names: tuple[str, ...]  # folded (bot/services/answers.fold_name)
    year: int | None
    town: str | None
    id_number: str | None
    shown: tuple[str, ...] = ()  # as written, for the queue on her machine

    @classmethod
    def of(cls, person: dict[str, Any]) -> Person:
        names, shown = [], []
        for field_name in ("name", "name_alt"):
            value = person.get(field_name)
            if isinstance(value, str) and (folded := fold_name(value)):
                names.append(folded)
                shown.append(value.strip())
        birth = person.get("birth_year")
        year = birth.get("year") if isinstance(birth, dict) else None
        town, id_number = _town(person.get("hometown")), _id_number(person)
        return cls(tuple(names), year, town, id_number, tuple(shown))


def _town(value: Any) -> str | None:
    """A prefecture's code, or her own words for the place (compared as written)."""
    if value is None or value == UNKNOWN:
        return None
    if isinstance(value, dict):
        text = value.get("text")
        return f"text:{fold_name(text)}" if isinstance(text, str) else None
    return str(value)


def _id_number(person: dict[str, Any]) -> str | None:
    """Letters and digits only, upper case; None unless it has six digits or more (so that
    "no", "unknown" and a year never match as an ID number)."""
    value = person.get("id_number")
    if isinstance(value, dict):
        value = value.get("text")
    if not isinstance(value, str):
        return None
    cleaned = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return cleaned if sum(ch.isdigit() for ch in cleaned) >= 6 else None


@dataclass
class Entry:
    code: str
    people: list[Person]


@dataclass
class DuplicateIndex:
    """The cases one reviewer has indexed, and how far."""

    key_id: str
    entries: dict[int, Entry] = field(default_factory=dict)
    # Cases sealed to her that did not open as a case record: not tried again.
    unreadable: set[int] = field(default_factory=set)
    highest: int = 0  # the highest case id indexed

    def add(self, case_id: int, code: str, payload: dict[str, Any]) -> None:
        people = [Person.of(p) for p in payload.get("detainees", []) if isinstance(p, dict)]
        self.entries[case_id] = Entry(code, people)
        self.highest = max(self.highest, case_id)

    def drop(self, case_ids: Iterable[int]) -> int:
        gone = 0
        for case_id in case_ids:
            gone += self.entries.pop(case_id, None) is not None
            self.unreadable.discard(case_id)
        return gone

    def _people(self) -> Iterator[tuple[int, str, Person]]:
        for case_id, entry in sorted(self.entries.items()):
            for person in entry.people:
                yield case_id, entry.code, person

    def pairs(self) -> list[tuple[str, str, str]]:
        """(code, code, why) for every pair of cases that may be about the same person."""
        found: dict[tuple[str, str], str] = {}

        def add(first: str, second: str, why: str) -> None:
            if first == second:
                return
            pair = (min(first, second), max(first, second))
            if STRENGTH[why] > STRENGTH.get(found.get(pair, ""), 0):
                found[pair] = why

        by_id: dict[str, set[str]] = defaultdict(set)
        by_name: dict[str, set[str]] = defaultdict(set)
        blocks: dict[tuple[int | None, str | None], list[tuple[str, str]]] = defaultdict(list)
        for _case_id, code, person in self._people():
            if person.id_number:
                by_id[person.id_number].add(code)
            for name in person.names:
                by_name[name].add(code)
                blocks[(person.year, person.town)].append((code, name))
        for why, groups in ((SAME_ID, by_id), (SAME_NAME, by_name)):
            for codes in groups.values():
                ordered = sorted(codes)
                for i, first in enumerate(ordered):
                    for second in ordered[i + 1 :]:
                        add(first, second, why)
        for block in blocks.values():
            names = [name for _code, name in block]
            for i, (code, name) in enumerate(block[:-1]):
                for _match, _score, j in process.extract(
                    name,
                    names[i + 1 :],
                    scorer=fuzz.token_sort_ratio,
                    score_cutoff=SIMILAR,
                    limit=None,
                ):
                    add(code, block[i + 1 + j][0], SIMILAR_NAME)
        return [(a, b, why) for (a, b), why in sorted(found.items())]

    def search(self, name: str) -> list[str]:
        """Codes of cases naming someone like this, oldest first: any part of a name in any
        script (`Ерлан`, `Erlan` or `Нұрғ` find "Ерлан Нұрғалиұлы"), each word spelt nearly
        so, or the whole name in another order."""
        wanted = fold_name(name)
        if not wanted:
            return []
        words = wanted.split()
        matched = {
            code
            for _id, code, person in self._people()
            for folded in person.names
            if _names_match(words, wanted, folded)
        }
        return [entry.code for _id, entry in sorted(self.entries.items()) if entry.code in matched]

    def names(self) -> dict[str, list[str]]:
        """Each case's names as written (case code -> names), for the queue."""
        return {
            entry.code: [name for person in entry.people for name in person.shown[:1]]
            for entry in self.entries.values()
        }

    # -- the file -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "highest": self.highest,
            "unreadable": sorted(self.unreadable),
            "cases": {
                str(case_id): {
                    "code": entry.code,
                    "people": [
                        [list(p.names), p.year, p.town, p.id_number, list(p.shown)]
                        for p in entry.people
                    ],
                }
                for case_id, entry in self.entries.items()
            },
        }

    @classmethod
    def from_json(cls, key_id: str, body: dict[str, Any]) -> DuplicateIndex:
        if body.get("version") != VERSION:
            return cls(key_id)  # an older file: rebuilt from the cases
        index = cls(key_id, highest=int(body["highest"]), unreadable=set(body["unreadable"]))
        for case_id, entry in body["cases"].items():
            people = [Person(tuple(n), y, t, i, tuple(s)) for n, y, t, i, s in entry["people"]]
            index.entries[int(case_id)] = Entry(entry["code"], people)
        return index

    def save(self, path: Path, key: ReviewerKey) -> None:
        """Seal the index under her key and replace the file with it (mode 0600)."""
        content = json.dumps(self.to_json(), separators=(",", ":")).encode()
        seal_local(path, key, MAGIC, PURPOSE, content)

    @classmethod
    def load(cls, path: Path, key: ReviewerKey) -> DuplicateIndex:
        """Her index, or an empty one if there is no file yet; refuses another key's file
        and one that was altered (delete it and it is rebuilt from the cases)."""
        content = open_local(path, key, MAGIC, PURPOSE, "duplicate index", "AIGAQ_DUPLICATE_INDEX")
        if content is None:
            return cls(key.key_id)
        return cls.from_json(key.key_id, json.loads(content))


def _names_match(words: list[str], wanted: str, folded: str) -> bool:
    """Every word searched for is a word of the name (or nearly, or its beginning), or the
    whole name matches in any order."""
    if fuzz.token_sort_ratio(wanted, folded) >= SIMILAR:
        return True
    parts = folded.split()
    return all(any(_word_match(word, part) for part in parts) for word in words)


def _word_match(word: str, part: str) -> bool:
    if word == part or (len(word) >= PREFIX and part.startswith(word)):
        return True
    return len(word) >= PREFIX + 1 and fuzz.ratio(word, part) >= SIMILAR_WORD
