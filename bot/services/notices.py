"""Status changes a relative agreed to hear about: code and status only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.models import Account, Case, Delivery, Notice, utcday
from bot.services.outbox import NOTICE, Outbox, Queued
from bot.states import NoticeState


@dataclass(frozen=True)
class Due:
    notice_id: int
    chat_id: int | None
    locale: str | None
    code: str
    status: str
    account_id: int | None = None
    consented: bool = True


class Notices:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], server_key: ServerKey):
        self._sessionmaker = sessionmaker
        self._key = server_key

    async def due(self, limit: int = 50) -> list[Due]:
        """Pending notices not yet handed to the outbox."""
        queued = exists().where(and_(Delivery.kind == NOTICE, Delivery.subject_id == Notice.id))
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(
                    Notice.id,
                    Account.chat_ref,
                    Account.locale,
                    Case.code,
                    Notice.status,
                    Account.id,
                    Case.consent_contact,
                )
                .join(Case, Case.id == Notice.case_id)
                .outerjoin(Account, Account.id == Case.account_id)
                .where(Notice.state == NoticeState.PENDING, ~queued)
                .order_by(Notice.id)
                .limit(limit)
            )
            return [
                Due(
                    notice_id,
                    int(self._key.decrypt(ref, context="chat")) if ref else None,
                    locale,
                    code,
                    status,
                    account_id,
                    bool(consented),
                )
                for notice_id, ref, locale, code, status, account_id, consented in rows
            ]

    async def stage(self, outbox: Outbox) -> int:
        """Hand pending notices to the outbox; one she cannot get (no consent, no chat) fails."""
        queued = []
        for due in await self.due():
            if due.chat_id is None or due.account_id is None or not due.consented:
                async with self._sessionmaker() as session, session.begin():
                    await self.mark(session, due.notice_id, sent=False)
                continue
            queued.append(
                Queued(
                    account_id=due.account_id,
                    locale=due.locale or "",
                    subject_id=due.notice_id,
                    message={"code": due.code, "status": due.status},
                )
            )
        return await outbox.queue(NOTICE, queued)

    async def mark(self, session: AsyncSession, notice_id: int, *, sent: bool) -> None:
        """How her notice ended, in the caller's transaction (the outbox's)."""
        await session.execute(
            update(Notice)
            .where(Notice.id == notice_id)
            .values(state=NoticeState.SENT if sent else NoticeState.FAILED, sent_at=utcday())
        )
