"""Messages to the team the bot starts itself: a new case, code and counts only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Account, Case, Role
from bot.services import audit
from bot.services.disk import free_space, low_disks
from bot.services.outbox import ALERT, REMINDER, Outbox, Queued
from bot.settings import Settings

# A disk that was low is counted as recovered only with this much more than the minimum, so
# that one hovering at the line does not alert every round.
RECOVERED = 1.1


async def _staff(session: AsyncSession) -> list[tuple[int, str | None]]:
    """Reviewers and admins the bot can reach: account and language."""
    rows = await session.execute(
        select(Account.id, Account.locale).where(
            Account.role.in_([Role.REVIEWER, Role.ADMIN]), Account.chat_ref.is_not(None)
        )
    )
    return [(account_id, locale) for account_id, locale in rows]


async def queue_staff_alert(
    outbox: Outbox,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    code: str,
    people: int,
    files: int,
    urgent: bool,
) -> int:
    """One alert per reviewer and admin with a chat, each in their own language."""
    async with sessionmaker() as session:
        case_id = await session.scalar(select(Case.id).where(Case.code == code))
        staff = await _staff(session)
    message = {"code": code, "people": people, "files": files, "urgent": urgent}
    return await outbox.queue(
        ALERT,
        [
            Queued(account_id, locale or "", message, subject_id=case_id)
            for account_id, locale in staff
        ],
    )


async def queue_receipt_alert(
    outbox: Outbox, sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> int:
    """Many wrong receipts within the hour: every reviewer and admin with a chat is told
    (how many, nothing else: no account, no receipt)."""
    async with sessionmaker() as session:
        staff = await _staff(session)
    message = {"receipts": count}
    return await outbox.queue(
        ALERT, [Queued(account_id, locale or "", message) for account_id, locale in staff]
    )


async def queue_log_head(outbox: Outbox, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Once a day: the audit log's newest row and its hash to every reviewer and admin with
    a chat, or the row where the chain breaks. A copy outside the database: whoever
    rewrites the log later cannot change what their chats already show."""
    async with sessionmaker() as session:
        report = await audit.verify_chain(session)
        staff = await _staff(session)
    if report.first_broken is not None:
        message: dict[str, object] = {"broken": report.first_broken}
    elif report.head is not None:
        message = {"head": report.head[0], "hash": report.head[1][:16]}
    else:
        return 0
    return await outbox.queue(
        ALERT, [Queued(account_id, locale or "", message) for account_id, locale in staff]
    )


async def queue_reminder(outbox: Outbox, user_id: int, locale: str | None) -> int:
    """Her unsent answers expire tomorrow. Her account keeps no chat id (she has not asked for
    messages), so the chat travels in the delivery's own blob, deleted once it is sent."""
    return await outbox.queue(REMINDER, [Queued(None, locale or "", {"chat": user_id})])


@dataclass
class DiskWatch:
    """Staff are told once when a disk the bot writes to runs low (AIGAQ_MIN_FREE_DISK_MB),
    not every round; again only after it has had room to spare. Kept in memory: a restart
    while it is low tells them once more."""

    told: bool = False

    async def check(
        self, outbox: Outbox, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> int:
        """One round: the alerts queued (one per reviewer and admin with a chat, or none)."""
        low = low_disks(settings)
        if not low:
            if self.told and all(
                disk.free_mb >= settings.min_free_disk_mb * RECOVERED
                for disk in free_space(settings)
            ):
                self.told = False
            return 0
        if self.told:
            return 0
        self.told = True
        async with sessionmaker() as session:
            staff = await _staff(session)
        message = {
            "disk_mb": min(disk.free_mb for disk in low),
            "min_mb": settings.min_free_disk_mb,
        }
        return await outbox.queue(
            ALERT, [Queued(account_id, locale or "", message) for account_id, locale in staff]
        )
