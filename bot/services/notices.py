"""Status changes a relative agreed to hear about: code and status only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.models import Account, Case, Notice, utcnow


@dataclass(frozen=True)
class Due:
    notice_id: int
    chat_id: int | None
    locale: str | None
    code: str
    status: str


class Notices:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], server_key: ServerKey):
        self._sessionmaker = sessionmaker
        self._key = server_key

    async def due(self, limit: int = 50) -> list[Due]:
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Notice.id, Account.chat_ref, Account.locale, Case.code, Notice.status)
                .join(Case, Case.id == Notice.case_id)
                .outerjoin(Account, Account.id == Case.account_id)
                .where(Notice.state == "pending")
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
                )
                for notice_id, ref, locale, code, status in rows
            ]

    async def mark(self, notice_id: int, *, sent: bool) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(Notice)
                .where(Notice.id == notice_id)
                .values(state="sent" if sent else "failed", sent_at=utcnow())
            )
