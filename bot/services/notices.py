"""Status changes a relative agreed to hear about: code and status only.

Reviewer tools write the notice and its delivery, sealed to the bot's delivery key (bot/
reviewing/contact.py); the outbox sends it and tells the notice how it ended."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Notice, utcday
from bot.states import NoticeState


class Notices:
    async def mark(self, session: AsyncSession, notice_id: int, *, sent: bool) -> None:
        """How her notice ended, in the caller's transaction (the outbox's)."""
        await session.execute(
            update(Notice)
            .where(Notice.id == notice_id)
            .values(state=NoticeState.SENT if sent else NoticeState.FAILED, sent_at=utcday())
        )
