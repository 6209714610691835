"""Reading free answers: years, dates and names as relatives actually write them."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from anyascii import anyascii
from babel.dates import get_month_names

from bot.i18n import N_
from bot.tote import to_arabic, to_cyrillic

EARLIEST_BIRTH_YEAR = 1900
EARLIEST_DETENTION_YEAR = 1990
NAME_MAX = 200
FIELD_MAX = 4000

YEAR_FORMAT = N_("Please write a year with four digits, for example 1965.")
YEAR_RANGE = N_("That year does not look right. Please write a year between {first} and {last}.")
DATE_FORMAT = N_(
    "Please write the day, month and year if you know them, for example 12.05.2018 or "
    "12 May 2018; otherwise the month and year (05.2018) or the year (2018)."
)
NAME_EMPTY = N_("Please write the name.")
NAME_LONG = N_(
    "That is too long for a name. Please write only the name (up to {limit} "
    "characters); you can tell everything else a little later."
)
NAME_LETTERS = N_("Please write the name with letters, in any alphabet.")
TEXT_EMPTY = N_("Please write your answer, send a voice message, or press Skip.")
TEXT_LONG = N_(
    "That answer is too long for this question: it can have at most {limit} characters. "
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

# Month words come from Babel's locale data (wide and abbreviated, format and stand-alone:
# Russian genitive «мая» and nominative «май»), Kazakh also as its Arabic-script spelling reads
# back in Cyrillic (the round trip loses a little: «шілде» comes back «шылде»).
MONTH_LOCALES = ("kk", "ru", "en")
# Russian declines a month by its ending («январь, января, январе»); CLDR has two of the cases,
# relatives write the prepositional too («в мае 2018»).
_RUSSIAN_ENDINGS = ("", "ь", "й", "я", "е", "ю", "а", "ем", "ём", "ом")
_WORD = re.compile(r"[^\W\d_]+")
_MONTH_MARK = "\x00"


def _month_forms(locale: str) -> dict[str, int]:
    """Each written form of a month name in a language (casefolded) -> the month."""
    forms: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, context, locale).items():
                forms[name.rstrip(".").casefold()] = number
    if locale == "kk":
        forms |= {to_cyrillic(to_arabic(name)): number for name, number in forms.items()}
    return forms


_MONTH_WORDS = {locale: _month_forms(locale) for locale in MONTH_LOCALES}


def _month_of_word(word: str) -> int | None:
    """The month a word names: a form as Babel has it, a Kazakh form with a case suffix
    («мамырда»), the start of an English name, or a Russian form in another case («мае»)."""
    word = word.casefold()
    for forms in _MONTH_WORDS.values():
        if word in forms:
            return forms[word]
    for name, number in _MONTH_WORDS["kk"].items():
        if len(name) > 4 and word.startswith(name):
            return number
    for name, number in _MONTH_WORDS["en"].items():
        if len(word) >= 3 and name.startswith(word):  # «Sept», «Febr»
            return number
    for name, number in _MONTH_WORDS["ru"].items():
        stem = name.rstrip("ьйя")
        if len(name) > 2 and word.startswith(stem) and word[len(stem) :] in _RUSSIAN_ENDINGS:
            return number
    return None


def _mark_months(text: str) -> str:
    """The text (Arabic script read as Cyrillic) with each month word replaced by a mark."""

    def mark(found: re.Match[str]) -> str:
        number = _month_of_word(found.group(0))
        return found.group(0) if number is None else f"{_MONTH_MARK}{number}{_MONTH_MARK}"

    return _WORD.sub(mark, to_cyrillic(text))


_DAY_BEFORE = re.compile(
    r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|-?ші|-?шы|-?го|-?е)?[\s.,/-]*\x00(\d{1,2})\x00", re.I
)
_DAY_AFTER = re.compile(r"\x00(\d{1,2})\x00[\s.,/-]*(\d{1,2})(?:st|nd|rd|th)?(?!\d)", re.I)
_MONTH_WORD = re.compile(r"\x00(\d{1,2})\x00")


def _worded(text: str) -> tuple[int | None, int | None]:
    """(day, month) from a date written with a month word, or (None, None) without one."""
    before = _DAY_BEFORE.search(text)
    if before:
        return int(before.group(1)), int(before.group(2))
    after = _DAY_AFTER.search(text)
    if after:
        return int(after.group(2)), int(after.group(1))
    month = _MONTH_WORD.search(text)
    return None, int(month.group(1)) if month else None


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


def _numbers(text: str) -> tuple[int | None, int | None, int | None]:
    """(day, month, year) from a date written in numbers: 12.05.2018, 05.2018, 2018-05-12."""
    day_month_year = re.search(r"(?<!\d)(\d{1,2})[./\- ](\d{1,2})[./\- ](\d{4})(?!\d)", text)
    if day_month_year:
        day, month, year = (int(g) for g in day_month_year.groups())
        return day, month, year
    iso = re.search(r"(?<!\d)(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?!\d)", text)
    if iso:
        return int(iso.group(3)) if iso.group(3) else None, int(iso.group(2)), int(iso.group(1))
    month_year = re.search(r"(?<!\d)(\d{1,2})[./\- ](\d{4})(?!\d)", text)
    if month_year:
        return None, int(month_year.group(1)), int(month_year.group(2))
    found = _YEAR.search(text)
    return None, None, int(found.group(1)) if found else None


def parse_event_date(text: str, *, today: date | None = None) -> dict[str, Any]:
    """'2017', '05.2017', '12.05.2017', 'May 2017', '12 мамыр 2017', '12 мая 2017',
    '12 May 2017' (Arabic-script Kazakh too) -> year, month, day, precision, her words."""
    today = today or date.today()
    cleaned = _digits(clean_name(text).strip())
    if is_unknown(cleaned):
        return {"year": None, "month": None, "day": None, "precision": "unknown", "text": text}
    marked = _mark_months(cleaned)
    day, month, year = _numbers(marked)
    if day is None and _MONTH_MARK in marked:
        day, month = _worded(marked)
    if year is None or (month is not None and not 1 <= month <= 12):
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


_ENGLISH_MONTHS = get_month_names("wide", locale="en")


def english_date(value: Any) -> str:
    """A date as read from her words, in English: "12 May 2018", "May 2018", "2018", "about
    1965", "the 1960s" (or "unknown"); for UN drafts, which go in English."""
    if not isinstance(value, dict) or not value.get("year"):
        return "unknown"
    year, month, day = value["year"], value.get("month"), value.get("day")
    if value.get("precision") == "decade":
        return f"the {year}s"
    if value.get("precision") == "approximate":
        return f"about {year}"
    if month and day:
        return day_of(date(year, month, day))
    return f"{_ENGLISH_MONTHS[month]} {year}" if month else str(year)


def day_of(day: date) -> str:
    """A day in English: "12 May 2018"."""
    return f"{day.day} {_ENGLISH_MONTHS[day.month]} {day.year}"


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
