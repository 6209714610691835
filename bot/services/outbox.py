"""The outbox: every message the bot starts on its own, claimed row by row and marked.

A delivery row is one message to one recipient, of a kind: `broadcast` (an admin's protest
update), `notice` (a status change she agreed to hear about), `question` (a reviewer's
follow-up), `reminder` (her unsent answers expire tomorrow) or `alert` (staff: a new case,
code and counts only). The recipient is an account (its chat id, server-encrypted, lives
on the account: subscribers and staff) or the row's own blob. Everything but a broadcast
carries its message in that blob, which goes with the row once it is sent or has failed for
good; a broadcast's texts stay on its broadcast row. A notice or question to a relative is
written by reviewer tools, sealed to the bot's delivery key (its chat id, language, code,
text and answer token; `uid` set, no account): opened only to send it, then its blob and
wrapped key are deleted and the SQLite WAL checkpointed, so no copy of her chat id stays.

Exactly once, as far as Telegram lets anyone (docs/broadcasts.md): `sending` is committed
just before a message goes out and `sent` just after; rows are claimed with a lease, on
PostgreSQL with FOR UPDATE SKIP LOCKED; a dead sender's rows are taken over when it runs
out, so a crash repeats at most the one message that was in flight.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db
from bot.crypto import ServerKey
from bot.models import Account, Broadcast, Delivery, DeliveryState, utcnow
from bot.sealing import drop_keys
from bot.services.broadcasts import DONE, SCHEDULED, SENDING
from bot.services.delivery import (
    ALERT,
    BROADCAST,
    NOTICE,
    QUESTION,
    RECEIPT,
    REMINDER,
    Blocked,
    ChatGone,
    Item,
    Queued,
    RateLimited,
    Settle,
    Transient,
    Transport,
)
from bot.services.delivery_keys import DELIVERY, DeliveryKeys
from bot.services.outbox_messages import Messages

log = logging.getLogger(__name__)

__all__ = [
    "ALERT",
    "BROADCAST",
    "NOTICE",
    "QUESTION",
    "RECEIPT",
    "REMINDER",
    "Blocked",
    "ChatGone",
    "Item",
    "Outbox",
    "Queued",
    "RateLimited",
    "Settle",
    "Transient",
    "Transport",
]

OPEN = (DeliveryState.PENDING, DeliveryState.SENDING)


class Outbox:
    """The database side: queue, claim, mark, and finish."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        *,
        sender_id: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
        delivery_keys: DeliveryKeys | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._messages = Messages(server_key, delivery_keys)
        self.sender_id = sender_id or secrets.token_hex(8)
        self.lease = lease
        self.max_attempts = max_attempts
        # What a kind's source row learns when its message went out (True) or never will.
        self._settle: dict[str, Settle] = {}
        # Set by the sender loop of this process: something was queued, look now.
        self.on_queued: Callable[[], None] | None = None

    def settle_with(self, kind: str, settle: Settle) -> None:
        self._settle[kind] = settle

    async def drop_reminders(self, chat_id: int) -> int:
        """Reminders to a chat that are still waiting (they name it only in their blob):
        gone when she cancels her draft or asks to be forgotten. Returns how many."""
        async with self._sessionmaker() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(Delivery).where(Delivery.kind == REMINDER, Delivery.sealed.is_not(None))
                )
            )
            opened = self._messages.open
            mine = [row for row in rows if row.sealed and opened(row.sealed).get("chat") == chat_id]
            for row in mine:
                await session.delete(row)
        return len(mine)

    async def queue(self, kind: str, messages: Collection[Queued]) -> int:
        """Queue messages of one kind; a subject already queued for that account is skipped."""
        if not messages:
            return 0
        rows = [
            {
                "kind": kind,
                "account_id": m.account_id,
                "subject_id": m.subject_id,
                "sealed": self._messages.seal(m.message),
                "locale": m.locale,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "updated_at": utcnow(),
            }
            for m in messages
        ]
        async with self._sessionmaker() as session, session.begin():
            dialect = session.get_bind().dialect.name
            build = pg_insert if dialect == "postgresql" else sqlite_insert
            await session.execute(build(Delivery).on_conflict_do_nothing(), rows)
        self.wake()
        return len(rows)

    def wake(self) -> None:
        if self.on_queued is not None:
            self.on_queued()

    async def activate_scheduled(self) -> int:
        """Scheduled broadcasts whose time has come start sending."""
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= utcnow())
                .values(status=SENDING)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def _live(self) -> Any:
        """Rows that may be sent at all: not a broadcast, or one of a running broadcast."""
        running = select(Broadcast.id).where(Broadcast.status == SENDING)
        return and_(
            Delivery.state.in_(OPEN),
            or_(Delivery.broadcast_id.is_(None), Delivery.broadcast_id.in_(running)),
        )

    async def claim(self, limit: int, kinds: Collection[str] | None = None) -> list[Item]:
        """Take up to `limit` due rows for this sender: personal messages before broadcasts."""
        now = utcnow()
        claimable = and_(
            self._live(),
            or_(
                Delivery.claimed_by.is_(None),
                Delivery.claimed_by == self.sender_id,
                Delivery.claimed_at < now - self.lease,
            ),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        if kinds is not None:
            claimable = and_(claimable, Delivery.kind.in_(list(kinds)))
        async with self._sessionmaker() as session, session.begin():
            candidates = list(
                await session.scalars(
                    select(Delivery.id)
                    .where(claimable)
                    .order_by(Delivery.broadcast_id.is_not(None), Delivery.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not candidates:
                return []
            # The same conditions again: on SQLite (no row locks) another sender may have
            # claimed, or even sent, a candidate between our read and this write.
            ids = list(
                await session.scalars(
                    update(Delivery)
                    .where(Delivery.id.in_(candidates), claimable)
                    .values(claimed_by=self.sender_id, claimed_at=now)
                    .returning(Delivery.id)
                )
            )
            rows = await session.execute(
                select(Delivery, Account.chat_ref)
                .outerjoin(Account, Account.id == Delivery.account_id)
                .where(Delivery.id.in_(ids))
                .order_by(Delivery.broadcast_id.is_not(None), Delivery.id)
            )
            items, unreachable = [], []
            for delivery, chat_ref in rows:
                item = await self._messages.item(session, delivery, chat_ref)
                if isinstance(item, Item):
                    items.append(item)
                    continue
                # She unsubscribed (or blocked the bot) after it was queued: nothing to send.
                delivery.state, delivery.error = DeliveryState.FAILED, item
                unreachable.append(delivery)
            for delivery in unreachable:
                await self._close(session, delivery)
                await self._settle_source(session, delivery.kind, delivery.subject_id, sent=False)
        if any(delivery.uid is not None for delivery in unreachable):
            await self._wipe()
        return items

    async def _wipe(self) -> None:
        """A blob naming her chat was deleted: its old pages leave the SQLite WAL now."""
        await db.wipe_traces(self._sessionmaker.kw["bind"])

    async def _close(self, session: AsyncSession, delivery: Delivery) -> None:
        """Done with for good: a personal message's row (and its blob) goes, a broadcast's
        stays for the figures until retention reduces it to counts."""
        if delivery.kind == BROADCAST:
            delivery.claimed_by, delivery.sealed = None, None
        else:
            if delivery.uid is not None:
                await drop_keys(session, DELIVERY, [delivery.uid])
            await session.delete(delivery)

    async def _settle_source(
        self, session: AsyncSession, kind: str, subject_id: int | None, *, sent: bool
    ) -> None:
        settle = self._settle.get(kind)
        if settle is not None and subject_id is not None:
            await settle(session, subject_id, sent=sent)

    async def _update(self, item: Item, **values: object) -> bool:
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(
                update(Delivery)
                .where(Delivery.id == item.delivery_id, Delivery.claimed_by == self.sender_id)
                .values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

    async def _end(self, item: Item, state: DeliveryState, **values: object) -> None:
        """The last word on a row this sender holds, and its source row told."""
        async with self._sessionmaker() as session, session.begin():
            delivery = await session.scalar(
                select(Delivery).where(
                    Delivery.id == item.delivery_id, Delivery.claimed_by == self.sender_id
                )
            )
            if delivery is None:
                return
            delivery.state = state
            for name, value in values.items():
                setattr(delivery, name, value)
            await self._close(session, delivery)
            if state == DeliveryState.BLOCKED and item.account_id is not None:
                await session.execute(
                    update(Account)
                    .where(Account.id == item.account_id)
                    .values(subscribed=False, chat_ref=None)
                )
            # In the same transaction: a crash or another sender's staging in between would
            # otherwise find the source unsettled and the delivery gone, and send it again.
            sent = state == DeliveryState.SENT
            await self._settle_source(session, item.kind, item.subject_id, sent=sent)
        if item.uid is not None or item.kind in (RECEIPT, REMINDER):
            # Its blob named her chat (and a receipt code, or a case): off the disk too.
            await self._wipe()

    async def mark_sending(self, item: Item) -> bool:
        """Just before sending; False if the row is no longer ours (taken over)."""
        return await self._update(
            item,
            state=DeliveryState.SENDING,
            attempts=Delivery.attempts + 1,
            claimed_at=utcnow(),
        )

    async def mark_sent(self, item: Item, message_id: int) -> None:
        await self._end(item, DeliveryState.SENT, message_id=message_id, error=None)

    async def mark_failed(self, item: Item, error: str) -> None:
        await self._end(item, DeliveryState.FAILED, error=error[:200])

    async def mark_blocked(self, item: Item) -> None:
        """She blocked the bot: the delivery is done with, and she is unsubscribed."""
        await self._end(item, DeliveryState.BLOCKED, error="blocked")

    async def retry_later(self, item: Item, error: str, delay: float) -> None:
        """Back to pending, due after `delay` seconds; failed after max_attempts tries."""
        if item.attempts + 1 >= self.max_attempts:
            await self.mark_failed(item, error)
            return
        await self._update(
            item,
            state=DeliveryState.PENDING,
            error=error[:200],
            claimed_by=None,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )

    async def release(self, item: Item) -> None:
        """Give a claimed row back untouched (a stop)."""
        await self._update(item, state=DeliveryState.PENDING, claimed_by=None)

    async def next_due(self) -> datetime | None:
        """When something becomes due that is not due now: a retry, a lease running out,
        a scheduled broadcast. None if nothing is waiting."""
        async with self._sessionmaker() as session:
            free = or_(Delivery.claimed_by.is_(None), Delivery.claimed_by == self.sender_id)
            retry = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(self._live(), free)
            )
            lease = await session.scalar(
                select(func.min(Delivery.claimed_at)).where(self._live(), ~free)
            )
            scheduled = await session.scalar(
                select(func.min(Broadcast.scheduled_at)).where(Broadcast.status == SCHEDULED)
            )
        times = [retry, scheduled, lease + self.lease if lease is not None else None]
        found = [t if t.tzinfo else t.replace(tzinfo=utcnow().tzinfo) for t in times if t]
        return min(found) if found else None

    async def finish(self) -> list[int]:
        """Mark running broadcasts with nothing left to send as done; return their ids."""
        open_rows = exists().where(
            and_(Delivery.broadcast_id == Broadcast.id, Delivery.state.in_(OPEN))
        )
        async with self._sessionmaker() as session, session.begin():
            done = list(
                await session.scalars(
                    select(Broadcast.id).where(Broadcast.status == SENDING, ~open_rows)
                )
            )
            if done:
                await session.execute(
                    update(Broadcast)
                    .where(Broadcast.id.in_(done))
                    .values(status=DONE, finished_at=utcnow())
                )
            return done
