"""The broadcast outbox: deliveries claimed row by row and sent at a smooth, steady pace.

Exactly once, as far as Telegram lets anyone: a row is marked `sending` (committed) just
before its message goes out and `sent`, with the message id, just after. Rows are claimed
with a lease; a sender that dies leaves its rows to be taken over when the lease runs out.
A `sending` row taken over is sent again: that is the one message a crash may repeat, and
a sender has only one message in flight at a time, so it is at most one per dead sender.
On PostgreSQL several senders claim with FOR UPDATE SKIP LOCKED and never share a row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.models import Account, Broadcast, Delivery, DeliveryState, utcnow
from bot.services.broadcasts import DONE, SCHEDULED, SENDING, Figures, text_for

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Telegram said 429: wait `retry_after` seconds, then send the same message again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class Blocked(Exception):
    """403: she blocked the bot or deleted her account. Unsubscribe, never retry."""


class ChatGone(Exception):
    """400 chat not found (or another refusal that retrying won't change)."""


class Transient(Exception):
    """5xx, a timeout, a network error: worth a few more tries, later."""


class Transport(Protocol):
    async def send(self, chat_id: int, text: str, photo_file_id: str | None) -> int:
        """Send one message; return its id, or raise one of the errors above."""


@dataclass(frozen=True)
class Item:
    delivery_id: int
    broadcast_id: int
    account_id: int
    chat_id: int
    text: str
    photo_file_id: str | None
    attempts: int


class Outbox:
    """The database side: claim, mark, and finish."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        *,
        sender_id: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self.sender_id = sender_id or secrets.token_hex(8)
        self._lease = lease
        self.max_attempts = max_attempts

    async def activate_scheduled(self) -> int:
        """Scheduled broadcasts whose time has come start sending."""
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= utcnow())
                .values(status=SENDING)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def claim(self, limit: int) -> list[Item]:
        """Take up to `limit` due rows of running broadcasts for this sender."""
        now = utcnow()
        claimable = and_(
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
            or_(
                Delivery.claimed_by.is_(None),
                Delivery.claimed_by == self.sender_id,
                Delivery.claimed_at < now - self._lease,
            ),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        async with self._sessionmaker() as session, session.begin():
            candidates = list(
                await session.scalars(
                    select(Delivery.id)
                    .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
                    .where(Broadcast.status == SENDING, claimable)
                    .order_by(Delivery.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=Delivery)
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
            if not ids:
                return []
            rows = await session.execute(
                select(Delivery, Account.chat_ref, Broadcast)
                .join(Account, Account.id == Delivery.account_id)
                .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
                .where(Delivery.id.in_(ids))
                .order_by(Delivery.id)
            )
            items = []
            for delivery, chat_ref, broadcast in rows:
                texts = json.loads(broadcast.texts)
                chosen = text_for(delivery.locale, texts, broadcast.fallback.split(","))
                if chat_ref is None or chosen is None:
                    # She unsubscribed after the broadcast was queued: nothing to send.
                    delivery.state = DeliveryState.FAILED
                    delivery.error = "unsubscribed" if chat_ref is None else "no text"
                    continue
                items.append(
                    Item(
                        delivery_id=delivery.id,
                        broadcast_id=broadcast.id,
                        account_id=delivery.account_id,
                        chat_id=int(self._key.decrypt(chat_ref, context="chat")),
                        text=chosen[1],
                        photo_file_id=broadcast.photo_file_id,
                        attempts=delivery.attempts,
                    )
                )
            return items

    async def _update(self, item: Item, **values: object) -> bool:
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(
                update(Delivery)
                .where(Delivery.id == item.delivery_id, Delivery.claimed_by == self.sender_id)
                .values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

    async def mark_sending(self, item: Item) -> bool:
        """Just before sending; False if the row is no longer ours (taken over)."""
        return await self._update(
            item,
            state=DeliveryState.SENDING,
            attempts=Delivery.attempts + 1,
            claimed_at=utcnow(),
        )

    async def mark_sent(self, item: Item, message_id: int) -> None:
        await self._update(
            item, state=DeliveryState.SENT, message_id=message_id, error=None, claimed_by=None
        )

    async def mark_failed(self, item: Item, error: str) -> None:
        await self._update(item, state=DeliveryState.FAILED, error=error[:200], claimed_by=None)

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
        """Give a claimed row back untouched (a 429 pause, a stop)."""
        await self._update(item, state=DeliveryState.PENDING, claimed_by=None)

    async def mark_blocked(self, item: Item) -> None:
        """She blocked the bot: the delivery is done with, and she is unsubscribed."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.delivery_id)
                .values(state=DeliveryState.BLOCKED, claimed_by=None, error="blocked")
            )
            await session.execute(
                update(Account)
                .where(Account.id == item.account_id)
                .values(subscribed=False, chat_ref=None)
            )

    async def finish(self) -> list[int]:
        """Mark running broadcasts with nothing left to send as done; return their ids."""
        open_rows = exists().where(
            and_(
                Delivery.broadcast_id == Broadcast.id,
                Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
            )
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


class Pacer:
    """Spaces sends evenly at `rate` per second, and a chat at most once a second."""

    def __init__(self, rate: float, per_chat: float = 1.0) -> None:
        self._interval = 1.0 / rate
        self._per_chat = 1.0 / per_chat
        self._next = 0.0
        self._chats: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        now = time.monotonic()
        start = max(now, self._next, self._chats.get(chat_id, 0.0))
        self._next = start + self._interval
        self._chats[chat_id] = start + self._per_chat
        if len(self._chats) > 50_000:
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        if start > now:
            await asyncio.sleep(start - now)

    def pause(self, seconds: float) -> None:
        """After a 429: nothing goes out before `seconds` from now."""
        self._next = max(self._next, time.monotonic() + seconds)


ProgressCallback = Callable[[int, bool], Awaitable[None]]


class OutboxSender:
    """Drains the outbox: one message in flight, paced, every error handled per chat."""

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        rate: float = 30.0,
        batch: int = 60,
        on_progress: ProgressCallback | None = None,
        progress_every: float = 3.0,
    ) -> None:
        self.outbox = outbox
        self._transport = transport
        self._pacer = Pacer(rate)
        self._batch = batch
        self._on_progress = on_progress
        self._progress_every = progress_every
        self._reported: dict[int, float] = {}

    async def drain(self, budget: float | None = None) -> int:
        """Send what is due until nothing is left or `budget` seconds pass; returns the count."""
        deadline = None if budget is None else time.monotonic() + budget
        sent = 0
        await self.outbox.activate_scheduled()
        while deadline is None or time.monotonic() < deadline:
            items = await self.outbox.claim(self._batch)
            if not items:
                break
            for index, item in enumerate(items):
                if deadline is not None and time.monotonic() >= deadline:
                    for left in items[index:]:
                        await self.outbox.release(left)
                    break
                sent += await self._deliver(item)
                await self._progress(item.broadcast_id, final=False)
        for broadcast_id in await self.outbox.finish():
            await self._progress(broadcast_id, final=True)
        return sent

    async def _deliver(self, item: Item) -> int:
        while True:
            await self._pacer.wait(item.chat_id)
            if not await self.outbox.mark_sending(item):
                return 0
            try:
                message_id = await self._transport.send(item.chat_id, item.text, item.photo_file_id)
            except RateLimited as exc:
                # The message did not go out: pause everything, then the same message again.
                log.info("rate limited for %.1fs", exc.retry_after)
                self._pacer.pause(exc.retry_after)
                continue
            except Blocked:
                await self.outbox.mark_blocked(item)
                return 0
            except ChatGone as exc:
                await self.outbox.mark_failed(item, str(exc) or "chat not found")
                return 0
            except Transient as exc:
                await self.outbox.retry_later(item, str(exc) or "transient", 2.0**item.attempts)
                return 0
            await self.outbox.mark_sent(item, message_id)
            return 1

    async def _progress(self, broadcast_id: int, *, final: bool) -> None:
        if self._on_progress is None:
            return
        now = time.monotonic()
        if not final and now - self._reported.get(broadcast_id, 0.0) < self._progress_every:
            return
        self._reported[broadcast_id] = now
        try:
            await self._on_progress(broadcast_id, final)
        except Exception as exc:
            log.warning("progress report failed: %s", type(exc).__name__)


__all__ = [
    "Blocked",
    "ChatGone",
    "Figures",
    "Item",
    "Outbox",
    "OutboxSender",
    "Pacer",
    "RateLimited",
    "Transient",
    "Transport",
]
