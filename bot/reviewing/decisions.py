"""Decisions on a case: status and grade with a sealed note, and duplicate links."""

from __future__ import annotations

import base64
import json
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.crypto import RecipientPublicKey, seal
from bot.models import CaseNote, CaseStatus, Notice, Recipient
from bot.reviewing.cases import ReviewError
from bot.services import audit

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

GRADES = ("reported", "partially_verified", "corroborated", "documented")
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
        async with self._reviewer._sessionmaker() as session, session.begin():
            case = await self._reviewer._case(session, code)
            if case.status == CaseStatus.WITHDRAWN:
                raise ReviewError(f"case {code} was withdrawn")
            case.status = status
            case.grade = grade or case.grade
            uid = secrets.token_hex(16)
            sealed_note, wrapped = None, {}
            if note:
                keys = [
                    RecipientPublicKey(suite=r.suite, public_bytes=r.public_key)
                    for r in await session.scalars(
                        select(Recipient).where(Recipient.active.is_(True))
                    )
                ]
                sealed = seal(note.encode(), keys, object_id=uid, kind="note")
                sealed_note = sealed.ciphertext
                wrapped = {k: base64.b64encode(v).decode() for k, v in sealed.wrapped_keys.items()}
            session.add(
                CaseNote(
                    case_id=case.id,
                    uid=uid,
                    reviewer=self._reviewer.key.key_id,
                    status=status.value,
                    grade=case.grade,
                    sealed_note=sealed_note,
                    wrapped_keys=json.dumps(wrapped),
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
