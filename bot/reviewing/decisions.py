"""Decisions on a case: status and grade with a sealed note, and duplicate links."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.crypto.intake import sign_anchor
from bot.crypto.requests import b64
from bot.models import Case, CaseStatus
from bot.reviewing.cases import ReviewError
from bot.reviewing.requests import sealed_to
from bot.services import audit
from bot.states import Grade

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

GRADES = tuple(grade.value for grade in Grade)
# A relative who agreed to contact hears of these changes (code and status only).
TOLD = (CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)


class Decisions:
    """What a reviewer decides about cases: requests she signs; the bot applies them and
    audits each under her key id."""

    def __init__(self, reviewer: Reviewer) -> None:
        self._reviewer = reviewer

    async def set_status(
        self, code: str, status: CaseStatus, *, grade: str | None = None, note: str = ""
    ) -> str:
        """Decide; the note is sealed like testimony; the relative may be told. A request
        she signs, which the bot applies: `applied`, `pending` or `written`."""
        if status == CaseStatus.WITHDRAWN:
            raise ReviewError("only the relative can withdraw a case")
        if grade is not None and grade not in GRADES:
            raise ReviewError(f"the grade is one of {', '.join(GRADES)}")
        # Whom the note is sealed to is settled (and a refusal reported) before anything.
        team = self._reviewer.team
        holders = await team.holders(f"a note on case {code.upper()}") if note else []
        # So is the bot's delivery key, when she agreed to hear of this change.
        delivery_key = None
        if status in TOLD and await self._has_contact(code):
            delivery_key = await self._reviewer.contact.delivery_key()
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            if case.status == CaseStatus.WITHDRAWN:
                raise ReviewError(f"case {code} was withdrawn")
            contact = await self._reviewer.contact.of(session, case) if delivery_key else None
        uid = secrets.token_hex(16)
        body: dict[str, Any] = {
            "case": case.code,
            "status": status.value,
            "grade": grade,
            "uid": uid,
            "note": None,
            "notice": None,
        }
        if note:
            sealed, keys = sealed_to(holders, "note", uid, note.encode())
            body["note"] = {
                "sealed": b64(sealed),
                "keys": keys,
                # The note's ciphertext anchored, signed with her export-signing key (the
                # roster lists it): a note swapped or inserted in the database shows.
                "anchor": sign_anchor(
                    self._reviewer.key.signing_key(), "note", uid, case.code, audit.anchor(sealed)
                ),
            }
        if contact is not None and delivery_key is not None:
            body["notice"] = self._reviewer.contact.message(
                contact, delivery_key, {"code": case.code, "status": status.value}
            )
        return await self._reviewer.requests.submit("decision", body)

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

    async def link(self, code: str, original: str) -> str:
        """Mark a case as a duplicate of another; both testimonies are kept."""
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            first = await self._reviewer._case(session, original)
        if case.id == first.id:
            raise ReviewError("a case cannot duplicate itself")
        return await self._reviewer.requests.submit("link", {"case": case.code, "of": first.code})
