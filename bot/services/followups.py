"""Follow-up questions, the bot's side: deliver a reviewer's question, take her answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import CryptoError, ServerKey, open_sealed
from bot.models import Account, Case, CaseStatus, Delivery, FollowUp, Setting, utcday
from bot.sealing import drop_delivery_copies, wrapped_for
from bot.services import audit
from bot.services.accounts import Accounts
from bot.services.outbox import QUESTION, Outbox, Queued
from bot.states import FollowUpState

INBOX = "inbox_public"
QUEUED, SENT = FollowUpState.QUEUED, FollowUpState.SENT
ANSWERED, FAILED = FollowUpState.ANSWERED, FollowUpState.FAILED


@dataclass(frozen=True)
class Question:
    followup_id: int
    chat_id: int | None
    locale: str | None
    code: str
    text: str
    account_id: int | None = None


class FollowUps:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        accounts: Accounts,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._inbox = server_key.inbox()
        self._accounts = accounts

    async def publish_inbox(self) -> None:
        """Put the bot's inbox public key where reviewers' tools find it."""
        line = self._inbox.public().to_line()
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(Setting, INBOX)
            if row is None:
                session.add(Setting(name=INBOX, value=line))
            else:
                row.value = line

    async def due(self, limit: int = 20) -> list[Question]:
        """Queued questions not yet handed to the outbox, opened with the inbox key."""
        found = []
        handed = exists().where(and_(Delivery.kind == QUESTION, Delivery.subject_id == FollowUp.id))
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(FollowUp, Case.code, Account.chat_ref, Account.locale, Account.id)
                .join(Case, Case.id == FollowUp.case_id)
                .outerjoin(Account, Account.id == Case.account_id)
                .where(FollowUp.state == QUEUED, ~handed)
                .order_by(FollowUp.id)
                .limit(limit)
            )
            for followup, code, chat_ref, locale, account_id in rows:
                text = await self._open_question(session, followup)
                chat = int(self._key.decrypt(chat_ref, context="chat")) if chat_ref else None
                found.append(Question(followup.id, chat, locale, code, text, account_id))
        return found

    async def stage(self, outbox: Outbox) -> int:
        """Hand queued questions to the outbox (the question text travels in the delivery's
        server-encrypted blob, deleted once sent; `mark` then drops the inbox's key)."""
        queued = []
        for question in await self.due():
            if question.chat_id is None or question.account_id is None or not question.text:
                async with self._sessionmaker() as session, session.begin():
                    await self.mark(session, question.followup_id, sent=False)
                continue
            queued.append(
                Queued(
                    account_id=question.account_id,
                    locale=question.locale or "",
                    subject_id=question.followup_id,
                    message={"code": question.code, "text": question.text},
                )
            )
        return await outbox.queue(QUESTION, queued)

    async def _open_question(self, session: AsyncSession, followup: FollowUp) -> str:
        """With the current inbox key, or an older one if the server key was rotated since."""
        for inbox in self._key.inboxes():
            wrapped = await wrapped_for(
                session, "question", followup.uid, delivery_key_id=inbox.key_id
            )
            if wrapped is None:
                continue
            try:
                return open_sealed(
                    followup.sealed_question,
                    wrapped,
                    inbox,
                    object_id=followup.uid,
                    kind="question",
                ).decode()
            except CryptoError:
                continue
        return ""

    async def mark(self, session: AsyncSession, followup_id: int, *, sent: bool) -> None:
        """Sent (the inbox's copy of the key is dropped, so the server can't read it again),
        in the caller's transaction (the outbox closes the delivery in the same one)."""
        followup = await session.get(FollowUp, followup_id)
        if followup is None:
            return
        await drop_delivery_copies(session, "question", followup.uid)
        followup.state = SENT if sent else FAILED
        followup.sent_at = utcday()

    async def _hers(
        self, session: AsyncSession, user_id: int, followup_id: int
    ) -> tuple[FollowUp, Case] | None:
        account = await self._accounts.find_row(session, user_id)
        if account is None:
            return None
        row = (
            await session.execute(
                select(FollowUp, Case)
                .join(Case, Case.id == FollowUp.case_id)
                .where(
                    FollowUp.id == followup_id,
                    Case.account_id == account.id,
                    FollowUp.state == SENT,
                )
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def open_for(self, user_id: int, followup_id: int) -> tuple[int, str] | None:
        """(case id, code) if this question was sent to her and is still open."""
        async with self._sessionmaker() as session:
            found = await self._hers(session, user_id, followup_id)
            return (found[1].id, found[1].code) if found else None

    async def finish(self, user_id: int, followup_id: int) -> str | None:
        """She is done: the case goes back to the reviewers' queue. Returns its code."""
        async with self._sessionmaker() as session, session.begin():
            found = await self._hers(session, user_id, followup_id)
            if found is None:
                return None
            followup, case = found
            followup.state = ANSWERED
            followup.answered_at = utcday()
            if case.status == CaseStatus.NEEDS_INFO:
                case.status = CaseStatus.IN_REVIEW
            await audit.record(
                session,
                actor=audit.RELATIVE,
                action="followup.answered",
                target=case.code,
            )
            return case.code
