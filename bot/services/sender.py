"""The one sender: every message the bot starts on its own, paced, every error per chat.

It sleeps until there is work: an asyncio.Event set whenever this process queues something
(or commits a row into a watched table, whoever wrote it), a PostgreSQL NOTIFY when another
process did, or a timer for what falls due later (a retry, a lease, a scheduled broadcast),
capped by a slow fallback poll for what nobody announced (another process on SQLite). On a
SQLite file that poll first asks whether anyone committed anything since the last drain (one
statement) and drains only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from bot.models import utcnow
from bot.services.outbox import Blocked, ChatGone, Item, Outbox, RateLimited, Transient, Transport

log = logging.getLogger(__name__)

CHANNEL = "aigaq_outbox"  # the NOTIFY channel of migration 0007's triggers
WATCHED = frozenset({"deliveries", "notices", "followups", "broadcasts", "reviewer_requests"})
FLAG = "aigaq_outbox_queued"


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
        self.claimed = 0  # rows taken by the last drain

    async def drain(self, budget: float | None = None, kinds: Collection[str] | None = None) -> int:
        """Send what is due until nothing is left or `budget` seconds pass; returns the count."""
        deadline = None if budget is None else time.monotonic() + budget
        sent = self.claimed = 0
        await self.outbox.activate_scheduled()
        while deadline is None or time.monotonic() < deadline:
            items = await self.outbox.claim(self._batch, kinds)
            if not items:
                break
            self.claimed += len(items)
            for index, item in enumerate(items):
                if deadline is not None and time.monotonic() >= deadline:
                    for left in items[index:]:
                        await self.outbox.release(left)
                    break
                sent += await self._deliver(item)
                if item.broadcast_id is not None:
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
                message_id = await self._transport.send(item)
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


class CommitWatch:
    """Calls `wake` after a commit on this engine that inserted into a watched table, whoever
    in this process wrote it (reviewer tools and the CLI too, not only the outbox)."""

    def __init__(self, engine: AsyncEngine, wake: Callable[[], None]) -> None:
        self._engine = engine.sync_engine
        self._wake = wake
        self._hooks: list[tuple[str, Callable[..., None]]] = [
            ("after_flush", self._flushed),
            ("do_orm_execute", self._executed),
            ("after_commit", self._committed),
        ]

    def install(self) -> None:
        for name, hook in self._hooks:
            event.listen(Session, name, hook)

    def remove(self) -> None:
        for name, hook in self._hooks:
            if event.contains(Session, name, hook):
                event.remove(Session, name, hook)

    def _flushed(self, session: Session, _flush: UOWTransaction) -> None:
        if any(getattr(row, "__tablename__", None) in WATCHED for row in session.new):
            session.info[FLAG] = True

    def _executed(self, state: ORMExecuteState) -> None:
        table = getattr(state.statement, "table", None)
        if state.is_insert and getattr(table, "name", None) in WATCHED:
            state.session.info[FLAG] = True

    def _committed(self, session: Session) -> None:
        if session.info.pop(FLAG, False) and session.bind is self._engine:
            self._wake()


class PostgresListener:
    """LISTEN on the outbox channel over a connection of its own (PostgreSQL only)."""

    def __init__(self, engine: AsyncEngine, wake: Callable[[], None]) -> None:
        self._engine = engine
        self._wake = wake
        self._connection: Any = None

    async def ensure(self) -> None:
        """Connect (again, after a lost connection); a failure leaves the slow poll to it."""
        if self._engine.dialect.name != "postgresql":
            return
        if self._connection is not None and not self._connection.is_closed():
            return
        import asyncpg  # type: ignore[import-untyped]

        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        for extra in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            kwargs.pop(extra, None)
        try:
            self._connection = await asyncpg.connect(*args, **kwargs)
            await self._connection.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox LISTEN unavailable, polling: %s", type(exc).__name__)
            self._connection = None
            return
        self._wake()  # whatever was announced while we were not listening

    def _notified(self, *_args: object) -> None:
        self._wake()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)


class CommitProbe:
    """Whether anyone, in any process, committed to the SQLite file since the last look:
    `PRAGMA data_version` on a connection of its own, one hand-off to its thread. An idle
    fallback poll then costs that instead of a drain (about thirty statements, 3.5-14 ms of
    CPU every 30 s). Elsewhere (PostgreSQL, an in-memory database) it always says yes."""

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url
        database = url.database or ""
        plain_file = database not in ("", ":memory:") and not url.query.get("uri")
        # mode=rw: the file is opened, never created (an empty database would only mislead).
        self._uri = (
            Path(database).absolute().as_uri() + "?mode=rw"
            if engine.dialect.name == "sqlite" and plain_file
            else None
        )
        self._connection: aiosqlite.Connection | None = None
        self._seen: object = None

    async def open(self) -> None:
        if self._uri is None or self._connection is not None:
            return
        try:
            self._connection = await aiosqlite.connect(self._uri, uri=True, timeout=30)
        except sqlite3.Error as exc:
            log.warning("outbox commit probe unavailable, draining: %s", type(exc).__name__)

    async def changed(self) -> bool:
        """False only when nothing was committed since the last call (nor can it be known)."""
        if self._connection is None:
            return True
        try:
            rows = await self._connection.execute_fetchall("PRAGMA data_version")
        except (sqlite3.Error, ValueError) as exc:
            log.warning("outbox commit probe failed, draining: %s", type(exc).__name__)
            return True
        version = next(iter(rows))[0]
        changed, self._seen = version != self._seen, version
        return changed

    async def close(self) -> None:
        connection, self._connection, self._seen = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class SenderLoop:
    """Runs the sender while the bot runs: drains, then sleeps until woken or something is due."""

    def __init__(
        self,
        sender: OutboxSender,
        engine: AsyncEngine,
        *,
        before_drain: Callable[[], Awaitable[None]] | None = None,
        fallback: float = 30.0,
        budget: float = 5.0,
    ) -> None:
        self.sender = sender
        self._before = before_drain
        self._fallback = fallback
        self._budget = budget
        self._event = asyncio.Event()
        self._watch = CommitWatch(engine, self.wake)
        self._listener = PostgresListener(engine, self.wake)
        self._probe = CommitProbe(engine)
        self._due: datetime | None = None  # the next retry, lease or schedule, as last read
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.rounds = 0  # drains run
        self.woken = 0  # of them started by a wake-up (queued here, or NOTIFY)
        self.timeouts = 0  # of them started by the timer (something due, or the fallback)
        self.skipped = 0  # fallback polls that found nothing committed, so drained nothing

    def wake(self) -> None:
        self._event.set()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._watch.install()
        self.sender.outbox.on_queued = self.wake
        await self._listener.ensure()
        await self._probe.open()
        self._task = asyncio.create_task(self._run(), name="outbox sender")

    async def stop(self) -> None:
        """Finish the message in flight, then stop (cancelled if that takes too long)."""
        task, self._task = self._task, None
        self._stopping = True
        self.wake()
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=15)
            except TimeoutError:
                log.warning("outbox sender did not stop in time; its leases will run out")
        self._watch.remove()
        self.sender.outbox.on_queued = None
        await self._listener.close()
        await self._probe.close()

    async def _run(self) -> None:
        quiet = False  # the fallback timer woke it, nothing was due, the last drain worked
        while not self._stopping:
            self._event.clear()
            if quiet and not await self._probe.changed():
                # Nobody committed anything since the last drain: nothing new can wait.
                self.skipped += 1
                wait = self._until(self._due)
            else:
                wait, quiet = await self._round(), True
            if self._stopping or wait <= 0:
                quiet = False
                continue
            try:
                await asyncio.wait_for(self._event.wait(), timeout=wait)
                self.woken += 1
                quiet = False
            except TimeoutError:
                self.timeouts += 1
                quiet = quiet and (self._due is None or self._due > utcnow())

    async def _before_drain(self) -> None:
        """What runs before each drain (reviewers' requests); its failure never keeps the
        outbox from being sent."""
        if self._before is None:
            return
        try:
            await self._before()
        except Exception as exc:
            log.error("before the drain: %s", type(exc).__name__)

    async def _round(self) -> float:
        """One drain; the seconds until the next (the fallback after a failure)."""
        self.rounds += 1
        self._due = utcnow()  # until the drain says otherwise, the next timer drains again
        try:
            await self._probe.changed()  # what this drain will have seen
            await self._listener.ensure()
            await self._before_drain()
            await self.sender.drain(budget=self._budget)
            return await self._wait()
        except Exception as exc:
            log.error("outbox drain failed: %s", type(exc).__name__)
            return self._fallback

    async def _wait(self) -> float:
        """Seconds until the next round: none while there is more to send, else until the
        next retry, lease or schedule, at most the fallback poll."""
        self._due = await self.sender.outbox.next_due()
        return self._until(self._due)

    def _until(self, due: datetime | None) -> float:
        wait = self._fallback
        if due is not None:
            wait = min(wait, (due - utcnow()).total_seconds())
        if self.sender.claimed == 0:
            wait = max(wait, 0.5)  # nothing claimable now: never spin on a past due time
        return wait
