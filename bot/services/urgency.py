"""The UN Working Group's urgent procedure: a disappearance less than three months old."""

from __future__ import annotations

from datetime import date
from typing import Any

URGENT_DAYS = 90  # "less than three months"


def disappeared_on(person: dict[str, Any]) -> date | None:
    """The earliest day the detention can have been, as far as she knew it."""
    detained = person.get("detained")
    if not isinstance(detained, dict) or not detained.get("year"):
        return None
    return date(
        int(detained["year"]), int(detained.get("month") or 1), int(detained.get("day") or 1)
    )


def is_urgent(person: dict[str, Any], received: date) -> bool:
    """Less than three months between the disappearance and the report: urgent procedure."""
    day = disappeared_on(person)
    return day is not None and 0 <= (received - day).days < URGENT_DAYS


def urgent_case(payload: dict[str, Any], received: date) -> bool:
    return any(is_urgent(person, received) for person in payload.get("detainees", []))
