"""Reading free answers: years, dates and names as relatives actually write them."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from anyascii import anyascii

from bot.i18n import N_
from bot.tote import to_cyrillic

EARLIEST_BIRTH_YEAR = 1900
EARLIEST_DETENTION_YEAR = 1990
NAME_MAX = 200
FIELD_MAX = 4000

YEAR_FORMAT = N_("Please write a year with four digits, for example 1965.")
YEAR_RANGE = N_("That year does not look right. Please write a year between {first} and {last}.")
DATE_FORMAT = N_("Please write the year, or the month and year, for example 2018 or 05.2018.")
NAME_EMPTY = N_("Please write the name.")
NAME_LONG = N_(
    "That is too long for a name. Please write only the name (up to {limit} "
    "characters); you can tell everything else a little later."
)
NAME_LETTERS = N_("Please write the name with letters, in any alphabet.")
TEXT_EMPTY = N_("Please write your answer, send a voice message, or press Skip.")
TEXT_LONG = N_(
    "That answer is too long for this question (up to {limit} characters). "
    "You can tell everything in detail at the step «What happened»."
)

_APPROX = re.compile(
    r"(about|approx|around|circa|ca\.|~|шамамен|шамасы|шамалы|около|примерно|приблизительно)",
    re.IGNORECASE,
)
_DECADE = re.compile(
    r"(\d{4})\s*(?:'?s\b|-?е\b|-?х\b|-?ые\b|-?шы\b|-?ші\b|-?жылдар|жылдар)", re.IGNORECASE
)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_UNKNOWN = re.compile(
    r"(don'?t know|do not know|unknown|not sure|білмеймін|белгісіз|не знаю|неизвестно|\?)",
    re.IGNORECASE,
)

_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("jan", "январ", "қаңтар"),
    2: ("feb", "феврал", "ақпан"),
    3: ("mar", "март", "наурыз"),
    4: ("apr", "апрел", "сәуір"),
    5: ("may", "мая", "май", "мамыр"),
    6: ("jun", "июн", "маусым"),
    7: ("jul", "июл", "шілде"),
    8: ("aug", "август", "тамыз"),
    9: ("sep", "сентябр", "қыркүйек"),
    10: ("oct", "октябр", "қазан"),
    11: ("nov", "ноябр", "қараша"),
    12: ("dec", "декабр", "желтоқсан"),
}


class AnswerError(ValueError):
    """The answer can't be read; `message` is a msgid to show, `values` its placeholders."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.message = message
        self.values = values


def _digits(text: str) -> str:
    # Arabic-Indic and other decimal digits count as digits: ١٩٦٥ is 1965.
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)


def is_unknown(text: str) -> bool:
    """She said she does not know."""
    return bool(_UNKNOWN.search(text)) and not _YEAR.search(_digits(text))


def parse_birth_year(text: str, *, today: date | None = None) -> dict[str, Any]:
    """'1965', 'about 1965', '1960s', "don't know" -> {year, precision}."""
    this_year = (today or date.today()).year
    cleaned = _digits(text.strip())
    if is_unknown(cleaned):
        return {"year": None, "precision": "unknown", "text": text}
    decade = _DECADE.search(cleaned)
    match = decade or _YEAR.search(cleaned)
    if match is None:
        raise AnswerError(YEAR_FORMAT)
    year = int(match.group(1))
    if not EARLIEST_BIRTH_YEAR <= year <= this_year:
        raise AnswerError(
            YEAR_RANGE,
            first=EARLIEST_BIRTH_YEAR,
            last=this_year,
        )
    if decade is not None:
        precision = "decade"
        year -= year % 10
    else:
        precision = "approximate" if _APPROX.search(cleaned) else "year"
    return {"year": year, "precision": precision, "text": text}


def _month(text: str) -> int | None:
    lowered = text.casefold()
    for number, stems in _MONTHS.items():
        if any(stem in lowered for stem in stems):
            return number
    return None


def parse_event_date(text: str, *, today: date | None = None) -> dict[str, Any]:
    """'2017', '05.2017', 'May 2017', '12.05.2017', 'мамыр 2017' -> year, month, day."""
    today = today or date.today()
    cleaned = _digits(text.strip())
    if is_unknown(cleaned):
        return {"year": None, "month": None, "day": None, "precision": "unknown", "text": text}
    day_month_year = re.search(r"(?<!\d)(\d{1,2})[./\- ](\d{1,2})[./\- ](\d{4})(?!\d)", cleaned)
    iso = re.search(r"(?<!\d)(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?!\d)", cleaned)
    month_year = re.search(r"(?<!\d)(\d{1,2})[./\- ](\d{4})(?!\d)", cleaned)
    day: int | None = None
    month: int | None = None
    if day_month_year:
        day, month, year = (int(g) for g in day_month_year.groups())
    elif iso:
        year, month = int(iso.group(1)), int(iso.group(2))
        day = int(iso.group(3)) if iso.group(3) else None
    elif month_year:
        month, year = int(month_year.group(1)), int(month_year.group(2))
    else:
        found = _YEAR.search(cleaned)
        if found is None:
            raise AnswerError(DATE_FORMAT)
        year = int(found.group(1))
        month = _month(cleaned)
    if month is not None and not 1 <= month <= 12:
        raise AnswerError(DATE_FORMAT)
    if day is not None:
        try:
            date(year, month or 1, day)
        except ValueError:
            raise AnswerError(DATE_FORMAT) from None
    if not EARLIEST_DETENTION_YEAR <= year <= today.year:
        raise AnswerError(
            YEAR_RANGE,
            first=EARLIEST_DETENTION_YEAR,
            last=today.year,
        )
    precision = "day" if day else "month" if month else "year"
    return {"year": year, "month": month, "day": day, "precision": precision, "text": text}


# ZWNJ and ZWJ between two Arabic-script letters are spelling (they choose a letter's form).
_JOINERS = frozenset("\u200c\u200d")


def _arabic_letter(text: str, index: int, step: int) -> bool:
    """The first letter from `index` in direction `step`, past combining marks, is Arabic."""
    while 0 <= index < len(text) and unicodedata.category(text[index]) == "Mn":
        index += step
    if not 0 <= index < len(text):
        return False
    char = text[index]
    return unicodedata.category(char).startswith("L") and "ARABIC" in unicodedata.name(char, "")


def hidden_characters(text: str) -> list[int]:
    """Where the text has invisible format characters (bidi overrides and isolates,
    zero-width spaces, BOM, word joiners…) or control characters that are not spelling."""
    found = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cc" and char in "\t\n\r":
            continue
        if category not in ("Cf", "Cc"):
            continue
        if (
            char in _JOINERS
            and _arabic_letter(text, index - 1, -1)
            and _arabic_letter(text, index + 1, 1)
        ):
            continue
        found.append(index)
    return found


def clean_name(text: str) -> str:
    """The name without hidden characters, so it cannot reorder or hide itself anywhere."""
    hidden = set(hidden_characters(text))
    return "".join(char for index, char in enumerate(text) if index not in hidden)


def show_hidden(text: str) -> str:
    """The text with each hidden character shown visibly, e.g. ‹U+202E›."""
    hidden = set(hidden_characters(text))
    return "".join(
        f"‹U+{ord(char):04X}›" if index in hidden else char for index, char in enumerate(text)
    )


def check_name(text: str) -> str:
    """A name as she wrote it, in any script; never corrected, only trimmed and rid of
    hidden characters (spelling joiners inside Arabic-script words stay)."""
    name = " ".join(clean_name(text).split())
    if not name:
        raise AnswerError(NAME_EMPTY)
    if len(name) > NAME_MAX:
        raise AnswerError(
            NAME_LONG,
            limit=NAME_MAX,
        )
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise AnswerError(NAME_LETTERS)
    return name


def check_text(text: str, limit: int = FIELD_MAX) -> str:
    """A short free answer: not empty, not longer than the limit."""
    value = text.strip()
    if not value:
        raise AnswerError(TEXT_EMPTY)
    if len(value) > limit:
        raise AnswerError(
            TEXT_LONG,
            limit=limit,
        )
    return value


_FOLDS = (
    ("gh", "g"),
    ("kh", "h"),
    ("zh", "j"),
    ("sh", "s"),
    ("ch", "c"),
    ("q", "k"),
    ("w", "u"),
    ("y", "i"),
    ("x", "h"),
)


def fold_name(name: str) -> str:
    """One key for one name across scripts: Latin letters, case and common spellings folded."""
    # Arabic-script Kazakh goes through Cyrillic first: anyascii reads it as Arabic.
    latin = anyascii(to_cyrillic(unicodedata.normalize("NFKC", name))).casefold()
    letters = re.sub(r"[^a-z]+", " ", latin).split()
    folded = []
    for word in letters:
        for old, new in _FOLDS:
            word = word.replace(old, new)
        folded.append(re.sub(r"(.)\1+", r"\1", word))
    return " ".join(sorted(folded))


def split_message(text: str, limit: int = 4000) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at a line or space if possible."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    parts.append(rest)
    return parts
