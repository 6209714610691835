"""Follow-up questions: asked in her language, sealed to the team and to the bot's pinned
inbox key, and her answers; what the UN elements still lack."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import CryptoError, RecipientPublicKey, normalise_fingerprint
from bot.models import Attachment, CaseStatus, FollowUp, Setting
from bot.reviewing.cases import ReviewError
from bot.reviewing.opening import open_object
from bot.sealing import Holder, seal_object
from bot.services import audit

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer
    from bot.reviewing.un import Readiness


class FollowUps:
    """Questions to the relative who testified, only where she agreed to be contacted."""

    def __init__(self, reviewer: Reviewer, inbox_fingerprint: str | None) -> None:
        self._reviewer = reviewer
        # The bot's inbox key as the reviewer pinned it (AIGAQ_INBOX_FINGERPRINT); questions
        # are sealed to no other, whatever the database says.
        self._inbox_pin = normalise_fingerprint(inbox_fingerprint) if inbox_fingerprint else None

    async def ask(self, code: str, question: str, *, elements: tuple[str, ...] = ()) -> None:
        """Queue a follow-up question; only where she agreed to be contacted."""
        question = question.strip()
        if not question:
            raise ReviewError("the question is empty")
        async with self._reviewer._sessionmaker() as session, session.begin():
            case = await self._reviewer._case(session, code)
            if case.status == CaseStatus.WITHDRAWN or not case.consent_contact:
                raise ReviewError(
                    f"case {case.code}: the relative did not agree to follow-up questions"
                )
            inbox = await self._pinned_inbox(session)
            team = await self._reviewer.team.holders(f"a question on case {case.code}")
            uid = secrets.token_hex(16)
            # The bot's inbox key is no reviewer row: its copy is held as a delivery key's.
            holders = [Holder(inbox), *team]
            sealed = await seal_object(session, "question", uid, question.encode(), holders)
            session.add(
                FollowUp(
                    case_id=case.id,
                    uid=uid,
                    asked_by=self._reviewer.key.key_id,
                    elements=",".join(elements),
                    sealed_question=sealed,
                )
            )
            case.status = CaseStatus.NEEDS_INFO
            await audit.record(
                session, actor=self._reviewer.key.key_id, action="followup.asked", target=case.code
            )

    async def _pinned_inbox(self, session: AsyncSession) -> RecipientPublicKey:
        """The bot's inbox key from the database, if it is the one this reviewer pinned."""
        if self._inbox_pin is None:
            raise ReviewError(
                "no pinned inbox key: set AIGAQ_INBOX_FINGERPRINT to the fingerprint that "
                "`aigaq keys inbox` prints on the bot's server (compare it in person or by a "
                "channel you trust)"
            )
        row = await session.get(Setting, "inbox_public")
        if row is None:
            raise ReviewError("the bot has not published its inbox key yet (start it once)")
        try:
            inbox = RecipientPublicKey.from_line(row.value)
        except CryptoError:
            inbox = None
        if inbox is None or inbox.fingerprint != self._inbox_pin:
            await self._inbox_refused(inbox.fingerprint if inbox else "unreadable")
            raise ReviewError(
                "the bot's inbox key in the database is not the one you pinned "
                f"(database {inbox.fingerprint if inbox else 'unreadable'}, pinned "
                f"{self._inbox_pin}); no question was sealed to it. If the server key was "
                "rotated, ask for the new fingerprint (`aigaq keys inbox` on the server); "
                "otherwise someone changed the database"
            )
        return inbox

    async def _inbox_refused(self, found: str) -> None:
        """Leave a trace in the audit log, apart from the refused question's transaction."""
        async with self._reviewer._sessionmaker() as session, session.begin():
            await audit.record(
                session,
                actor=self._reviewer.key.key_id,
                action="followup.inbox_refused",
                target=None,
                detail={"found": found[:16], "pinned": (self._inbox_pin or "")[:16]},
            )

    async def ask_missing(self, code: str, person: int = 1) -> list[str]:
        """One follow-up question, in her language, for the elements a person still lacks."""
        from bot.reviewing.un import missing_question, readiness

        opened = await self._reviewer.opened(code)
        items = readiness(opened.payload)
        if not 1 <= person <= len(items):
            raise ReviewError(f"case {code} has {len(items)} detained person(s)")
        missing = items[person - 1].missing
        if not missing:
            return []
        locale = str(opened.payload.get("locale") or "kk")
        question = missing_question(locale, missing, person, len(items))
        await self.ask(code, question, elements=tuple(missing))
        return missing

    async def readiness(self, code: str) -> tuple[list[Readiness], list[str]]:
        """The six elements per person — an element she answered in a follow-up counts as
        given — and the text of her written answers, for the draft."""
        from bot.reviewing.un import PRESENT, readiness

        opened = await self._reviewer.opened(code)
        items = readiness(opened.payload)
        answered: set[str] = set()
        texts = []
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            followups = list(
                await session.scalars(
                    select(FollowUp).where(
                        FollowUp.case_id == case.id, FollowUp.state == "answered"
                    )
                )
            )
            answers = (
                list(
                    await session.execute(
                        select(Attachment.uid, Attachment.kind).where(
                            Attachment.followup_id.in_([f.id for f in followups])
                        )
                    )
                )
                if followups
                else []
            )
        for followup in followups:
            answered.update(filter(None, followup.elements.split(",")))
        for uid, kind in answers:
            if kind == "text":
                texts.append((await self._reviewer.attachment(uid).read()).decode())
        for item in items:
            for name in answered & set(item.elements):
                item.elements[name] = PRESENT
        return items, texts

    async def ready_for_wgeid(self) -> set[str]:
        """Codes of cases where every person has all six elements (decrypted here)."""
        ready = set()
        for case, _payload in await self._reviewer.readable():
            items, _texts = await self.readiness(case.code)
            if items and all(item.ready for item in items):
                ready.add(case.code)
        return ready

    async def of(self, code: str) -> list[dict[str, Any]]:
        """Questions asked about a case, and her answers (attachment uids and kinds)."""
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            found = []
            for followup in await session.scalars(
                select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)
            ):
                question = (
                    await open_object(
                        session,
                        self._reviewer.key,
                        "question",
                        followup.uid,
                        followup.sealed_question,
                        name=f"the question of {followup.created_at:%Y-%m-%d} on case "
                        f"{case.code} (by {followup.asked_by}, question {followup.uid})",
                    )
                ).decode()
                answers = [
                    {"uid": uid, "kind": kind}
                    for uid, kind in await session.execute(
                        select(Attachment.uid, Attachment.kind)
                        .where(Attachment.followup_id == followup.id)
                        .order_by(Attachment.id)
                    )
                ]
                found.append(
                    {
                        "question": question,
                        "state": followup.state,
                        "asked_at": followup.created_at.isoformat(),
                        "answers": answers,
                    }
                )
            return found
