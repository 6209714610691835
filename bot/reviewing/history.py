"""A case's history for the reviewer: the team's decisions with their sealed notes, the
questions that moved a case to "needs information", and the answers that brought new
information (events, not decisions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Case, CaseNote, CaseStatus, FollowUp
from bot.reviewing.opening import open_object
from bot.states import FollowUpState

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

DECISION, QUESTION, NEW_INFORMATION = "decision", "question", "new_information"


async def notes_of(reviewer: Reviewer, session: AsyncSession, case: Case) -> list[dict[str, Any]]:
    """Every decision in order, its note opened; a question's status change is one too
    (`kind` "question", written by the bot with the asking reviewer as author, no note)."""
    asked = set(await session.scalars(select(FollowUp.uid).where(FollowUp.case_id == case.id)))
    notes = []
    for note in await session.scalars(
        select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
    ):
        text = ""  # a decision without a note
        if note.sealed_note is not None:
            await reviewer.vouch.sealed(
                session, case, "note", note.uid, note.sealed_note, note.created_at
            )
            text = (
                await open_object(
                    session,
                    reviewer.key,
                    "note",
                    note.uid,
                    note.sealed_note,
                    name=f"the note of {note.created_at:%Y-%m-%d} on case {case.code} "
                    f"(by {note.reviewer}, note {note.uid})",
                )
            ).decode()
        question = note.sealed_note is None and note.uid in asked
        notes.append(
            {
                "at": note.created_at.isoformat(),
                "reviewer": note.reviewer,
                "status": note.status,
                "grade": note.grade,
                "note": text,
                "kind": QUESTION if question else DECISION,
            }
        )
    return notes


async def events_of(
    session: AsyncSession, case: Case, notes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The decisions and, between them, each answer she gave (new information), by date."""
    answered = await session.scalars(
        select(FollowUp.answered_at).where(
            FollowUp.case_id == case.id,
            FollowUp.state == FollowUpState.ANSWERED,
            FollowUp.answered_at.is_not(None),
        )
    )
    events = list(notes) + [
        {"at": at.isoformat(), "kind": NEW_INFORMATION, "status": CaseStatus.IN_REVIEW}
        for at in answered
        if at is not None
    ]
    # Her answer is dated to the day only: on the same day it comes after the question.
    return sorted(events, key=lambda e: (e["at"][:10], e["kind"] == NEW_INFORMATION))


def verified_before(status: CaseStatus, notes: list[dict[str, Any]]) -> bool:
    """A reviewer verified the case, and a question (then her answer) took it out of
    "verified" with no decision since: the console says so, and asks for a decision."""
    if status not in (CaseStatus.NEEDS_INFO, CaseStatus.IN_REVIEW):
        return False
    decisions = [note for note in notes if note["kind"] == DECISION]
    if not decisions or decisions[-1]["status"] != CaseStatus.VERIFIED:
        return False
    last = decisions[-1]
    return any(note["kind"] == QUESTION and note["at"] > last["at"] for note in notes)
