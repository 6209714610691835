"""Who a detained person is, checkably: the PRC ID number and the name on Chinese documents.

`id_problem()` checks an ID number with python-stdnum's `cn.ric` (length, check digit, birth
date, county code; a county code this table or stdnum's does not know is no error, codes
change) and against the birth year and sex she gave. The dialogue re-asks once on a problem,
then keeps the number as she wrote it; reviewer tools show `id_check()` beside it. `pinyin()`
gives Hanyu Pinyin of a Han name for reviewers, never as her words.
"""

from __future__ import annotations

import re
from typing import Any

from pypinyin import Style, lazy_pinyin
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

from bot import gazetteer

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def id_problem(number: str, birth_year: Any = None, gender: Any = None) -> str | None:
    """What is wrong with an ID number, in English for reviewers ("check digit", "birth date",
    "birth year 1965 given", "sex"), or None when it checks."""
    compact = ric.compact(re.sub(r"[\s\-]", "", number))
    try:
        ric.validate(compact)
    except InvalidLength:
        return "not 18 characters"
    except InvalidChecksum:
        return "check digit does not match"
    except InvalidComponent:
        try:
            ric.get_birth_date(compact)
        except (InvalidComponent, ValueError):
            return "no such birth date in the number"
        if gazetteer.by_code(compact[:6]) is None:
            return "county code not known (codes change)"
    except ValidationError:
        return "not an ID number"
    born = ric.get_birth_date(compact)
    year = birth_year.get("year") if isinstance(birth_year, dict) else None
    precision = birth_year.get("precision") if isinstance(birth_year, dict) else None
    if isinstance(year, int) and precision in ("year", "approximate", "decade"):
        first, last = {"year": (year, year), "approximate": (year - 2, year + 2)}.get(
            str(precision), (year, year + 9)
        )
        if not first <= born.year <= last:
            given = f"the {year}s" if precision == "decade" else str(year)
            return f"birth year {born.year} in the number, {given} given"
    if gender in ("male", "female"):
        odd = int(compact[16]) % 2 == 1
        if odd != (gender == "male"):
            return "sex in the number differs from the one given"
    return None


def well_formed(number: Any) -> bool:
    """An ID number whose check digit and birth date hold (its county code may be unknown):
    enough to count as the identity element of a UN draft; "12345" is not."""
    if not isinstance(number, str):
        return False
    problem = id_problem(number)
    return problem is None or problem.startswith("county code")


def id_check(number: Any, birth_year: Any = None, gender: Any = None) -> str:
    """For reviewers: "checks" or "unverified: <why>"; '' when there is no number."""
    if not isinstance(number, str) or not number.strip():
        return ""
    problem = id_problem(number, birth_year, gender)
    return "checks" if problem is None else f"unverified: {problem}"


def is_id_shaped(text: str) -> bool:
    """Looks like an attempt at an 18-character number (digits, last one maybe X)."""
    return bool(re.fullmatch(r"[\dXx\s\-]{5,}", text.strip()))


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def pinyin(name: Any) -> str:
    """Hanyu Pinyin of the Han characters in a name (tone marks; other letters kept); ''."""
    if not isinstance(name, str) or not has_han(name):
        return ""
    syllables = lazy_pinyin(name, style=Style.TONE, errors="default")
    return " ".join(part for part in syllables if part.strip() and part != "·").strip()
