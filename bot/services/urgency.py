"""The UN Working Group's urgent procedure: a disappearance less than three months old.

A date she gave as a month or a year may mean any day in it; the procedure is open as long as
the latest possible day is, so that day is counted ("11.2024" is 30 November 2024).
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from bot.services.answers import day_of

URGENT_DAYS = 90  # "less than three months"
LINKED_DAYS = 365  # three months to a year: urgent too when linked to an urgent case


def latest_day(person: dict[str, Any]) -> date | None:
    """The latest day the detention can have been, as far as she knew it."""
    detained = person.get("detained")
    if not isinstance(detained, dict) or not detained.get("year"):
        return None
    year, month = int(detained["year"]), int(detained.get("month") or 12)
    day = int(detained.get("day") or calendar.monthrange(year, month)[1])
    return date(year, month, day)


def days_since(person: dict[str, Any], on: date) -> int | None:
    """How many days at least have passed on `on` since the detention (0 if it may be today)."""
    latest = latest_day(person)
    return None if latest is None else max((on - latest).days, 0)


def days_left(person: dict[str, Any], on: date) -> int | None:
    """Days left on `on` in the three months of the urgent procedure (None: none left)."""
    passed = days_since(person, on)
    return None if passed is None or passed >= URGENT_DAYS else URGENT_DAYS - passed


def is_urgent(person: dict[str, Any], on: date) -> bool:
    """Less than three months between the latest possible day and `on`: urgent procedure."""
    return days_left(person, on) is not None


def within_linked_window(person: dict[str, Any], on: date) -> bool:
    """Three months to a year old on `on`: urgent too for a case linked to an urgent one."""
    passed = days_since(person, on)
    return passed is not None and URGENT_DAYS <= passed < LINKED_DAYS


def urgent_case(payload: dict[str, Any], on: date) -> bool:
    return any(is_urgent(person, on) for person in payload.get("detainees", []))


def urgent_others(case: dict[str, Any], person_number: int, on: date) -> list[str]:
    """The other persons of the same case under the urgent procedure on `on`: a person taken
    with them is linked."""
    return [
        f"person {number} of this case"
        for number, other in enumerate(case.get("detainees", []), start=1)
        if number != person_number and is_urgent(other, on)
    ]


def _days(count: int | None) -> str:
    return "1 day" if count == 1 else f"{count} days"


def describe_urgency(person: dict[str, Any], on: date, linked: list[str]) -> str:
    """The urgent procedure on `on`, the day a draft is made, in English: the days left in
    the three months, or the three-months-to-a-year window when `linked` (cases or persons
    under the urgent procedure) is not empty."""
    left, latest = days_left(person, on), latest_day(person)
    if left is not None and latest is not None:
        return (
            f"yes: at most {_days(days_since(person, on))} since {day_of(latest)} (the latest "
            f"possible day), {_days(left)} left of the three months on {day_of(on)}"
        )
    if not within_linked_window(person, on):
        return "no"
    if linked:
        return (
            "possibly: three months to a year old, and linked to a case under the urgent "
            f"procedure ({', '.join(linked)})"
        )
    return "no: more than three months (urgent too only if linked to an urgent case)"
