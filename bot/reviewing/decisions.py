"""Decisions on a case: status and grade with a sealed note, and duplicate links."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from bot.models import CaseNote, CaseStatus, Notice
from bot.reviewing.cases import ReviewError
from bot.sealing import seal_object
from bot.services import audit
from bot.states import Grade

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

GRADES = tuple(grade.value for grade in Grade)
# A relative who agreed to contact hears of these changes (code and status only).
TOLD = (CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)


class Decisions:
    """What a reviewer decides about cases; every decision is audited under her key id."""

    def __init__(self, reviewer: Reviewer) -> None:
        self._reviewer = reviewer

    async def set_status(
        self, code: str, status: CaseStatus, *, grade: str | None = None, note: str = ""
    ) -> None:
        """Decide; the note is sealed like testimony; the relative may be told."""
        if status == CaseStatus.WITHDRAWN:
            raise ReviewError("only the relative can withdraw a case")
        if grade is not None and grade not in GRADES:
            raise ReviewError(f"the grade is one of {', '.join(GRADES)}")
        # Whom the note is sealed to is settled (and a refusal audited) before anything changes.
        team = self._reviewer.team
        holders = await team.holders(f"a note on case {code.upper()}") if note else []
        async with self._reviewer._sessionmaker() as session, session.begin():
            case = await self._reviewer._case(session, code)
            if case.status == CaseStatus.WITHDRAWN:
                raise ReviewError(f"case {code} was withdrawn")
            case.status = status
            case.grade = Grade(grade) if grade else case.grade
            uid = secrets.token_hex(16)
            sealed_note = None
            if note:
                sealed_note = await seal_object(session, "note", uid, note.encode(), holders)
            session.add(
                CaseNote(
                    case_id=case.id,
                    uid=uid,
                    reviewer=self._reviewer.key.key_id,
                    status=status.value,
                    grade=case.grade,
                    sealed_note=sealed_note,
                )
            )
            if status in TOLD and case.consent_contact:
                session.add(Notice(case_id=case.id, status=status.value))
            await audit.record(
                session,
                actor=self._reviewer.key.key_id,
                action="case.status",
                target=case.code,
                detail={"status": status.value, "grade": case.grade},
            )

    async def link(self, code: str, original: str) -> None:
        """Mark a case as a duplicate of another; both testimonies are kept."""
        async with self._reviewer._sessionmaker() as session, session.begin():
            case = await self._reviewer._case(session, code)
            first = await self._reviewer._case(session, original)
            if case.id == first.id:
                raise ReviewError("a case cannot duplicate itself")
            case.duplicate_of = first.id
            await audit.record(
                session,
                actor=self._reviewer.key.key_id,
                action="case.duplicate",
                target=case.code,
                detail={"of": first.code},
            )
