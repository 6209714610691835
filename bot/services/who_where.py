"""The intake's checks of who and where (issue 18): the ID number re-asked once when it does
not check, a Han name that has Han characters, the gazetteer's counties as buttons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import gazetteer, identity
from bot.i18n import N_
from bot.services.answers import AnswerError, check_name

ID_RECHECK = N_(
    "Please check this number once more: a Chinese ID card number has 18 characters (the "
    "last may be X), and it holds the birth date, the place and whether the person is a man "
    "or a woman; this one does not fit what you told before. If it is written so on the "
    "document, send it again as it is."
)
HAN_ONLY = N_("Please write the name in Chinese characters, or press Skip.")


def plain(value: Any, values: Mapping[str, Any]) -> Any:
    """An answer of the draft: its plaintext if it is a sealed piece still held here."""
    if isinstance(value, dict) and isinstance(value.get("piece"), str):
        return values.get(value["piece"])
    return value


def id_problem(person: dict[str, Any], number: str, values: Mapping[str, Any]) -> str | None:
    """What does not fit in an ID number, with the birth year and sex she gave (if held)."""
    birth, gender = (plain(person.get(name), values) for name in ("birth_year", "gender"))
    return identity.id_problem(number, birth, gender)


def han_name(text: str) -> str:
    """The name on Chinese documents: as she wrote it, with at least one Han character."""
    name = check_name(text)
    if not identity.has_han(name):
        raise AnswerError(HAN_ONLY)
    return name


def counties(
    person: dict[str, Any], values: Mapping[str, Any], locale: str
) -> list[tuple[str, str]]:
    """(label, gazetteer id) of each county of the prefecture she chose, while its plaintext
    is held here; she may still type the county, town or village."""
    chosen = plain(person.get("hometown"), values)
    if not isinstance(chosen, str):
        return []
    return [(place.name_in(locale), place.id) for place in gazetteer.counties(chosen)]
