"""The Kazakh-inhabited prefectures and counties of Xinjiang (and the XPCC), as one table.

Each place has its GB/T 2260 code, its names in Chinese, Hanyu Pinyin, Kazakh (Cyrillic and
Arabic script) and English, and the sources they come from (bot/gazetteer.json, `sources`).
The hometown buttons' values are its prefecture ids (bot/choices.py PREFECTURES; a test keeps
them in step), and UN drafts and exports print a place by it. County codes change (Shawan
became a city in 2021): a code not here is not wrong, only not known to this table.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.tote import to_cyrillic

DATA = Path(__file__).with_name("gazetteer.json")
_GENERIC = ("ауданы", "қаласы", "аймағы", "облысы", "county", "city", "prefecture")
_GENERIC_HAN = ("县", "市", "区")


@dataclass(frozen=True)
class Place:
    id: str
    level: str  # "prefecture" or "county"
    prefecture: str | None
    code: str
    zh: str
    pinyin: str
    kk: str
    kk_Arab: str
    en: str
    sources: tuple[str, ...]

    def name_in(self, locale: str) -> str:
        """Its name for her: Kazakh in Cyrillic (Russian readers too) or Arabic script, or
        English."""
        return {"kk": self.kk, "ru": self.kk, "kk_Arab": self.kk_Arab}.get(locale, self.en)

    def english(self) -> str:
        """The place as a UN draft names it: English, Chinese and its code."""
        return f"{self.en} ({self.zh}, GB/T 2260 {self.code})"


@cache
def _table() -> tuple[dict[str, str], dict[str, Place]]:
    raw: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    places = {
        entry["id"]: Place(**{**entry, "sources": tuple(entry["sources"])})
        for entry in raw["places"]
    }
    return raw["sources"], places


def sources() -> dict[str, str]:
    """Each source's key and citation."""
    return _table()[0]


def places() -> dict[str, Place]:
    """Every place by its id."""
    return _table()[1]


def place(ident: str) -> Place | None:
    return places().get(ident)


def by_code(code: str) -> Place | None:
    """The place a GB/T 2260 code (or an ID number's first six digits) names, if known."""
    for found in places().values():
        if found.code == code:
            return found
    return None


def counties(prefecture: str) -> list[Place]:
    return [p for p in places().values() if p.prefecture == prefecture]


def _key(text: str) -> str:
    letters = to_cyrillic(unicodedata.normalize("NFKC", text)).casefold()
    return "".join(ch for ch in letters if ch.isalnum())


def _short(text: str) -> str:
    for word in _GENERIC + _GENERIC_HAN:
        text = text.replace(word, "")
    return _key(text)


def _names(found: Place) -> tuple[str, ...]:
    english = found.en.split(" (")[0]
    return (found.kk, found.zh, found.pinyin, english, found.kk.split()[0], english.split()[0])


def _long_enough(key: str) -> bool:
    return len(key) >= (2 if any(ord(ch) > 0x2E80 for ch in key) else 4)


def find(text: str) -> Place | None:
    """The place her words name (any script: Kazakh, Chinese, Pinyin, English), or None.
    Used to print a standard name beside her words, never to replace them."""
    whole, short = _key(text), _short(text)
    if not short:
        return None
    every = list(places().values())
    for found in every:
        if any(_key(name) == whole for name in _names(found)):
            return found
    for found in every:
        if any(_short(name) == short for name in _names(found)):
            return found
    # Her words hold a name: the longest full name first ("Құлжа ауданы" is the county,
    # "Құлжа" alone the city), then the names without "county", "city"….
    for shorten in (_key, _short):
        held = [
            (len(key), found)
            for found in every
            for key in map(shorten, _names(found))
            if _long_enough(key) and key in whole
        ]
        if held:
            return max(held, key=lambda pair: pair[0])[1]
    return None
