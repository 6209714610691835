"""Decisions on a case: status and grade with a sealed note, and duplicate links."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto.intake import sign_anchor
from bot.models import Case, CaseNote, CaseStatus, Notice
from bot.reviewing.cases import ReviewError
from bot.sealing import seal_object
from bot.services import audit
from bot.services.delivery import NOTICE
from bot.states import Grade

if TYPE_CHECKING:
    from bot.crypto import RecipientPublicKey
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
        # So is the bot's delivery key, when she agreed to hear of this change.
        delivery_key = None
        if status in TOLD and await self._has_contact(code):
            delivery_key = await self._reviewer.contact.delivery_key()
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
            if delivery_key is not None:
                await self._tell(session, case, status, delivery_key)
            await audit.record(
                session,
                actor=self._reviewer.key.key_id,
                action="case.status",
                target=case.code,
                # The note's ciphertext anchored: a note swapped in the database shows.
                detail={"status": status.value, "grade": case.grade}
                | (self._anchor(case, uid, sealed_note) if sealed_note else {}),
            )

    def _anchor(self, case: Case, uid: str, sealed: bytes) -> dict[str, str]:
        """The note's ciphertext anchored in the log, signed with her export-signing key
        (the roster lists it): a note swapped or inserted in the database shows."""
        digest = audit.anchor(sealed)
        signing = self._reviewer.key.signing_key()
        return {"note": uid, "sealed": digest} | sign_anchor(
            signing, "note", uid, case.code, digest
        )

    async def _has_contact(self, code: str) -> bool:
        async with self._reviewer._sessionmaker() as session:
            found = await session.scalar(
                select(Case.id).where(
                    Case.code == code.upper(),
                    Case.consent_contact.is_(True),
                    Case.contact.is_not(None),
                )
            )
        return found is not None

    async def _tell(
        self, session: AsyncSession, case: Case, status: CaseStatus, key: RecipientPublicKey
    ) -> None:
        """Her notice (code and status), through her sealed contact and the delivery key."""
        contact = await self._reviewer.contact.of(session, case)
        if contact is None:
            return
        notice = Notice(case_id=case.id, status=status.value)
        session.add(notice)
        await session.flush()
        await self._reviewer.contact.queue(
            session,
            case,
            contact,
            key,
            kind=NOTICE,
            subject_id=notice.id,
            message={"code": case.code, "status": status.value},
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
