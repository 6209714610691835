"""What an export adds to the case record before the field policy: each file's provenance from
its sealed record, the follow-up questions with her answers, and dates as Uwazi reads them.

Runs on the reviewer's machine (bot/reviewing/export.py calls `complete()` for each case);
`disclosed()` (export_policy.py) then decides what of it a partner gets.
"""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot import identity
from bot.models import Case, CaseStatus
from bot.reviewing.cases import ReviewError

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

PROVENANCE = ("caption", "forwarded_from", "forwarded_at", "sent_at", "declared_mime")
DATE_FIELDS = ("birth_year", "detained")


def uwazi_date(value: Any) -> str:
    """A date as Uwazi imports it: `YYYY-MM-DD` for a day, a `from:to` range of days for a
    month, a year, an approximate year (that year) or a decade; '' when unknown."""
    if not isinstance(value, dict) or not isinstance(value.get("year"), int):
        return ""
    year, month, day = value["year"], value.get("month"), value.get("day")
    precision = value.get("precision")
    if precision == "decade":
        return f"{year:04d}-01-01:{year + 9:04d}-12-31"
    if month and day and precision == "day":
        return f"{year:04d}-{month:02d}-{day:02d}"
    if month and precision in ("month", "day"):
        last = calendar.monthrange(year, month)[1]
        return f"{year:04d}-{month:02d}-01:{year:04d}-{month:02d}-{last:02d}"
    return f"{year:04d}-01-01:{year:04d}-12-31"


async def not_chosen(
    reviewer: Reviewer,
    statuses: tuple[CaseStatus, ...],
    grades: tuple[str, ...],
    since: datetime | None,
) -> dict[str, int]:
    """How many cases an export leaves out for their status, per status (issue 19: "0 cases"
    with no word of why). Counts only; nothing is opened."""
    if not statuses:
        return {}
    query = select(Case.status).where(Case.payload.is_not(None), Case.status.not_in(statuses))
    if grades:
        query = query.where(Case.grade.in_(grades))
    if since is not None:
        query = query.where(Case.created_at >= since)
    async with reviewer._sessionmaker() as session:
        found = Counter(status.value for status in await session.scalars(query))
    return dict(sorted(found.items()))


async def complete(reviewer: Reviewer, code: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The case record with every file's provenance and the follow-ups (each with its
    question, day, person, elements asked and confirmed, and her answers: text, or a file's
    kind, SHA-256 and size); answer files join `attachments`, so bundles carry them."""
    files = [dict(item) for item in payload.get("attachments", [])]
    for item in files:
        item.update(await _provenance(reviewer, str(item["uid"])))
    followups = []
    for asked in await reviewer.followups.of(code):
        answers = []
        for given in asked["answers"]:
            uid, kind = str(given["uid"]), str(given["kind"])
            reader = reviewer.attachment(uid)
            record = await reader.record()
            answer: dict[str, Any] = {
                "uid": uid,
                "kind": kind,
                "sha256": record.sha256,
                "size": record.size,
            }
            if kind == "text":
                answer["text"] = (await reader.read()).decode("utf-8", "replace")
            else:
                files.append({**answer, "mime": record.mime, **record.origin()})
            answers.append(answer)
        followups.append(
            {
                "uid": asked["uid"],
                "question": asked["question"],
                "asked_on": str(asked["asked_at"])[:10],
                "person": asked["person"],
                "elements": asked["elements"],
                "confirmed": asked["confirmed"],
                "state": asked["state"],
                "answers": answers,
            }
        )
    people = [_derived(person) for person in payload.get("detainees", [])]
    return {**payload, "detainees": people, "attachments": files, "followups": followups}


def _derived(person: dict[str, Any]) -> dict[str, Any]:
    """What the team works out for a person, never her words: the Pinyin of the name on
    Chinese documents, and whether the ID number checks (bot/identity.py)."""
    derived = dict(person)
    if spelled := identity.pinyin(person.get("name_han")):
        derived["name_pinyin"] = spelled
    if checked := identity.id_check(
        person.get("id_number"), person.get("birth_year"), person.get("gender")
    ):
        derived["id_check"] = checked
    return derived


async def _provenance(reviewer: Reviewer, uid: str) -> dict[str, str]:
    try:
        record = await reviewer.attachment(uid).record()
    except ReviewError:
        return {}
    return record.origin()


def with_uwazi_dates(person: dict[str, Any]) -> dict[str, Any]:
    """A detained person's record with each date also as Uwazi reads it (`uwazi`)."""
    dated = dict(person)
    for name in DATE_FIELDS:
        value = dated.get(name)
        if isinstance(value, dict) and "precision" in value:
            dated[name] = {**value, "uwazi": uwazi_date(value)}
    return dated
