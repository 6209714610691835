"""Possible duplicates: the same detainee reported twice, in any script."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rapidfuzz import fuzz
from sqlalchemy import select

from bot.models import BlindIndex, Case
from bot.reviewing.cases import names_of
from bot.services.answers import fold_name

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

SIMILAR = 90  # rapidfuzz token-sort ratio over folded names


class Duplicates:
    """Find cases about the same person: by blind index, or by close names (decrypted here)."""

    def __init__(self, reviewer: Reviewer) -> None:
        self._reviewer = reviewer

    async def search(self, name: str) -> list[str]:
        """Codes of cases naming someone like this, in any script (decrypted here)."""
        wanted = fold_name(name)
        return [
            case.code
            for case, payload in await self._reviewer.readable()
            if any(
                fuzz.token_sort_ratio(wanted, fold_name(n)) >= SIMILAR for n in names_of(payload)
            )
        ]

    async def find(self) -> list[tuple[str, str, str]]:
        """Pairs (code, code, why): the same blind index, or close names with the same birth
        year and hometown, across Cyrillic, Latin, Chinese and Arabic spellings."""
        pairs: dict[tuple[str, str], str] = {}
        async with self._reviewer._sessionmaker() as session:
            rows = await session.execute(
                select(BlindIndex.value, Case.code).join(Case, Case.id == BlindIndex.case_id)
            )
            by_value: dict[str, set[str]] = defaultdict(set)
            for value, code in rows:
                by_value[value].add(code)
        for codes in by_value.values():
            ordered = sorted(codes)
            for i, first in enumerate(ordered):
                for second in ordered[i + 1 :]:
                    pairs[(first, second)] = "same name"
        people = []
        for case, payload in await self._reviewer.readable():
            for person in payload.get("detainees", []):
                year = (
                    (person.get("birth_year") or {})
                    if isinstance(person.get("birth_year"), dict)
                    else {}
                )
                for name in names_of({"detainees": [person]}):
                    people.append(
                        (case.code, fold_name(name), year.get("year"), person.get("hometown"))
                    )
        for i, (code, name, year, town) in enumerate(people):
            for other, other_name, other_year, other_town in people[i + 1 :]:
                if code == other or (min(code, other), max(code, other)) in pairs:
                    continue
                if (
                    year == other_year
                    and town == other_town
                    and fuzz.token_sort_ratio(name, other_name) >= SIMILAR
                ):
                    pairs[(min(code, other), max(code, other))] = "similar name"
        return [(a, b, why) for (a, b), why in sorted(pairs.items())]
