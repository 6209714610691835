"""Follow-up questions, the bot's side: how a question's delivery ended, and her answer.

Reviewer tools write the question and its delivery (sealed to the bot's delivery key, with
her chat id and the answer button's token: bot/reviewing/contact.py). Her answer is matched
by that token alone — 128 random bits, of which the server keeps only the SHA-256 — never by
her account. The token dies at Done, with a failed delivery, at withdrawal (the question is
deleted with its case) and `token_ttl` after the question was asked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto.intake import IntakeSigner
from bot.models import Attachment, Case, CaseStatus, FollowUp, utcday, utcnow
from bot.services import audit
from bot.services.attest import answers_digest
from bot.states import FollowUpState

QUEUED, SENT = FollowUpState.QUEUED, FollowUpState.SENT
ANSWERED, FAILED = FollowUpState.ANSWERED, FollowUpState.FAILED
TOKEN_BYTES = 16  # 128 bits
# Her answer moved the case back to the reviewers: an event, not a reviewer's decision.
NEW_INFORMATION = "case.new_information"


def new_token() -> str:
    """An answer button's token: 128 random bits, base64url (22 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the server keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenQuestion:
    followup_id: int
    case_id: int
    code: str


class FollowUps:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        token_ttl: timedelta = timedelta(days=30),
        signer: IntakeSigner | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.token_ttl = token_ttl
        # Signs the anchor of her answers in the log (reviewer tools check it).
        self._signer = signer

    async def mark(self, session: AsyncSession, followup_id: int, *, sent: bool) -> None:
        """How its delivery ended, in the caller's transaction (the outbox closes the delivery
        in the same one); a question that never reached her can't be answered."""
        followup = await session.get(FollowUp, followup_id)
        if followup is None:
            return
        followup.state = SENT if sent else FAILED
        followup.sent_at = utcday()
        if not sent:
            followup.token_hash = None

    def _anchor(
        self, question: str, code: str, given: list[tuple[str, bytes | None]]
    ) -> dict[str, str]:
        """Her answers' sealed records anchored, signed with the intake key when the bot has
        one: answers swapped, added or taken away in the database show."""
        digest = answers_digest(given)
        signed = self._signer.sign_anchor("answer", question, code, digest) if self._signer else {}
        return {"question": question, "sealed": digest} | signed

    async def _open(self, session: AsyncSession, token: str) -> tuple[FollowUp, Case] | None:
        """The question this token answers, if it was sent, is not answered, its case not
        withdrawn and the token not older than `token_ttl`."""
        if not token or len(token) > 64:
            return None
        row = (
            await session.execute(
                select(FollowUp, Case)
                .join(Case, Case.id == FollowUp.case_id)
                .where(
                    FollowUp.token_hash == token_hash(token),
                    FollowUp.state == SENT,
                    FollowUp.created_at > utcnow() - self.token_ttl,
                    Case.status != CaseStatus.WITHDRAWN,
                )
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def open_for(self, token: str) -> OpenQuestion | None:
        """The question her button answers, if it is still open."""
        async with self._sessionmaker() as session:
            found = await self._open(session, token)
            return OpenQuestion(found[0].id, found[1].id, found[1].code) if found else None

    async def finish(self, token: str) -> str | None:
        """She is done: the token dies, the case goes back to the reviewers' queue. Returns
        its code (None if the question closed meanwhile)."""
        async with self._sessionmaker() as session, session.begin():
            found = await self._open(session, token)
            if found is None:
                return None
            followup, case = found
            followup.state = ANSWERED
            followup.answered_at = utcday()
            followup.token_hash = None
            before = case.status
            if before == CaseStatus.NEEDS_INFO:
                # New information goes back to the reviewers, whatever was decided before (the
                # console shows "verified before"); no decision is undone in silence, and
                # she is not told: only reviewers' decisions are.
                case.status = CaseStatus.IN_REVIEW
            given = await session.execute(
                select(Attachment.uid, Attachment.record)
                .where(Attachment.followup_id == followup.id)
                .order_by(Attachment.uid)
            )
            await audit.record(
                session,
                actor=audit.RELATIVE,
                action="followup.answered",
                target=case.code,
                # Her answers' sealed records anchored: one swapped in the database shows.
                detail=self._anchor(followup.uid, case.code, list(given)),
            )
            if case.status != before:
                await audit.record(
                    session,
                    actor=audit.RELATIVE,
                    action=NEW_INFORMATION,
                    target=case.code,
                    detail={
                        "question": followup.uid,
                        "from": before.value,
                        "to": case.status.value,
                    },
                )
            return case.code
