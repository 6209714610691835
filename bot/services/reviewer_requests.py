"""The bot applies reviewers' signed requests: the only writer of what reviewers decide.

A reviewer's tools leave a signed request in `reviewer_requests` (bot/crypto/requests.py,
bot/reviewing/requests.py). The bot takes each waiting row in a transaction of its own,
checks it — the signature, a signer the roster it holds lists, this team, not replayed, not
stale, the audit head she saw — then what its kind asks (bot/services/requests_apply.py),
and writes. A refusal changes nothing but the row's state and reason, and is audited.

The row's `state` is the database's, which a database writer can reset: what protects
against replay is the log — every request applied or refused leaves an audit row naming its
digest, in the hash chain reviewer tools verify and staff chats get the head of — so a
digest the log already names is never applied again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crypto.delivery import signer_fingerprint
from bot.crypto.requests import Request, RequestError, verify_request
from bot.crypto.roster import Reviewer
from bot.db import wipe_traces
from bot.models import AuditEntry, utcday, utcnow
from bot.request_rows import APPLIED, PENDING, REFUSED, ReviewerRequest
from bot.services import audit
from bot.services.requests_apply import KINDS, Refused, Writer

if TYPE_CHECKING:
    from bot.services.delivery_keys import DeliveryKeys
    from bot.services.team import TeamRoster

log = logging.getLogger(__name__)

# The bot's applier for each database it serves from this process (a trial page, a test):
# reviewer tools in the same process have their request applied at once, on the bot's own
# event loop, not at the next round of the bot's loop. In production the bot and reviewer
# tools never share a process.
_LOCAL: dict[str, tuple[Callable[[], Coroutine[Any, Any, int]], asyncio.AbstractEventLoop]] = {}


def _where(target: AsyncEngine | async_sessionmaker[AsyncSession]) -> str:
    engine = target if isinstance(target, AsyncEngine) else target.kw.get("bind")
    return str(engine.url) if engine is not None else ""


def local_applier(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Callable[[], Awaitable[int]] | None:
    """The bot's applier for this database, if the bot runs in this process; called from
    another thread's loop (a console server, a command in a test), it runs on the bot's."""
    found = _LOCAL.get(_where(sessionmaker))
    if found is None:
        return None
    applier, home = found
    if home.is_closed() or not home.is_running():
        return None
    if home is asyncio.get_running_loop():
        return applier

    async def on_the_bots_loop() -> int:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(applier(), home))

    return on_the_bots_loop


AHEAD = timedelta(minutes=5)  # a reviewer's clock may run this much ahead
BATCH = 50  # rows taken per round; the loop comes back for more
# Kinds whose document carries what must not stay: a message to a relative sealed to the
# delivery key (decision, question), or data keys wrapped for a reviewer who may later be
# revoked (rewrap). Cleared once applied or refused.
CLEARED = frozenset({"decision", "question", "rewrap"})


class RequestApplier:
    """Verifies and applies waiting requests; `apply_pending` is safe to run in several
    processes at once (each row is claimed before it is applied)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        team: TeamRoster,
        delivery_keys: DeliveryKeys,
        *,
        max_age: timedelta = timedelta(days=14),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._team = team
        self._delivery_keys = delivery_keys
        self._max_age = max_age

    def serve_locally(self, engine: AsyncEngine) -> None:
        """Apply requests made in this process at once (see `local_applier`)."""
        _LOCAL[_where(engine)] = (self.apply_pending, asyncio.get_running_loop())

    def stop_serving(self, engine: AsyncEngine) -> None:
        found = _LOCAL.get(_where(engine))
        if found is not None and found[0] == self.apply_pending:
            del _LOCAL[_where(engine)]

    async def apply_pending(self) -> int:
        """Apply or refuse every waiting request; how many were taken. The roster file is
        read again first if it changed: a reviewer the admin left out acts no more."""
        await self._team.reload_if_changed()
        taken, tried = 0, set[int]()
        while True:
            async with self._sessionmaker() as session:
                ids = [
                    row_id
                    for row_id in await session.scalars(
                        select(ReviewerRequest.id)
                        .where(ReviewerRequest.state == PENDING)
                        .order_by(ReviewerRequest.id)
                        .limit(BATCH)
                    )
                    if row_id not in tried
                ]
            if not ids:
                break
            for row_id in ids:
                tried.add(row_id)
                taken += await self._take(row_id)
        if taken:
            # A cleared document leaves no copy in SQLite's write-ahead log.
            await wipe_traces(self._engine)
        return taken

    @property
    def _engine(self) -> AsyncEngine:
        engine = self._sessionmaker.kw.get("bind")
        assert isinstance(engine, AsyncEngine)  # noqa: S101 - made by bot/db.py
        return engine

    async def _take(self, row_id: int) -> int:
        try:
            async with self._sessionmaker() as session, session.begin():
                # The claim: the first applier's UPDATE wins (a row lock on PostgreSQL, the
                # write lock on SQLite); another finds the row no longer pending.
                claimed = await session.execute(
                    update(ReviewerRequest)
                    .where(ReviewerRequest.id == row_id, ReviewerRequest.state == PENDING)
                    .values(state=APPLIED, applied_at=utcday())
                    .execution_options(synchronize_session=False)
                )
                if not getattr(claimed, "rowcount", 0):
                    return 0
                row = await session.get(ReviewerRequest, row_id)
                assert row is not None  # noqa: S101 - claimed in this transaction
                await self._apply(session, row)
        except Exception as exc:
            # Not a refusal: a fault of the bot or the database, or a row that cannot be
            # read. It must not block the queue or be retried for ever: refused, unread.
            log.error("reviewer request %d could not be applied: %s", row_id, type(exc).__name__)
            await self._refuse_apart(row_id, f"the bot could not apply it ({type(exc).__name__})")
        return 1

    async def _apply(self, session: AsyncSession, row: ReviewerRequest) -> None:
        """Apply the claimed row, or mark it refused."""
        signer: Reviewer | None = None
        try:
            request = self._verified(row)
            signer = self._signer(request)
            await self._check_head(session, request)
            await self._not_seen(session, request)
            async with session.begin_nested():
                await KINDS[request.kind](
                    Writer(session, request, signer, self._team, self._delivery_keys)
                )
        except Refused as refused:
            await self._refuse(session, row, str(refused), signer)
            return
        if row.kind in CLEARED:
            row.document = None

    def _verified(self, row: ReviewerRequest) -> Request:
        try:
            request = verify_request(row.document or "")
        except RequestError as exc:
            raise Refused(str(exc)) from None
        if request.digest != row.digest or request.kind != row.kind:
            raise Refused("the row's digest or kind is not its request's")
        roster = self._team.roster
        if roster is None or request.team != roster.signed_by:
            raise Refused("made for another team's roster")
        now = utcnow()
        if request.made_at > now + AHEAD:
            raise Refused("made in the future (check the reviewer's clock)")
        if request.made_at < now - self._max_age:
            raise Refused(f"older than {self._max_age.days} days: make it again")
        return request

    def _signer(self, request: Request) -> Reviewer:
        roster = self._team.roster
        assert roster is not None  # noqa: S101 - checked in _verified
        for reviewer in roster.reviewers:
            if reviewer.signing_hex == request.signer:
                return reviewer
        raise Refused("signed by a key the roster does not list (or lists with no signing key)")

    async def _check_head(self, session: AsyncSession, request: Request) -> None:
        if request.head is None:
            if request.kind == "head":
                raise Refused("a head request names no audit head")
            return
        row, digest = request.head
        held = await session.scalar(select(AuditEntry.hash).where(AuditEntry.id == row))
        if held != digest:
            raise Refused(f"the audit head she verified (row {row}) is not in this log")

    async def _not_seen(self, session: AsyncSession, request: Request) -> None:
        """A digest the log already names was applied or refused before: its row's state
        was reset in the database. Rows before the request was made cannot name it."""
        named = await session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.at >= request.made_at - AHEAD,
                AuditEntry.detail.contains(f'"request": "{request.digest}"'),
            )
            .limit(1)
        )
        if named is not None:
            raise Refused(f"already taken (audit row {named}): a replay")

    async def _refuse(
        self, session: AsyncSession, row: ReviewerRequest, reason: str, signer: Reviewer | None
    ) -> None:
        row.state, row.reason = REFUSED, reason[:200]
        if row.kind in CLEARED:
            row.document = None
        await audit.record(
            session,
            actor=signer.key.key_id if signer else "bot",
            action="request.refused",
            target=row.kind[:64],
            detail={
                "request": row.digest,
                "reason": reason[:200],
                "signer": signer_fingerprint(signer.signing)[:16]
                if signer and signer.signing
                else "",
            },
        )

    async def _refuse_apart(self, row_id: int, reason: str) -> None:
        """Refuse a row the bot could not apply, without reading it (it may be what failed)."""
        try:
            async with self._sessionmaker() as session, session.begin():
                refused = await session.execute(
                    update(ReviewerRequest)
                    .where(ReviewerRequest.id == row_id, ReviewerRequest.state == PENDING)
                    .values(state=REFUSED, reason=reason[:200], document=None)
                    .execution_options(synchronize_session=False)
                )
                if getattr(refused, "rowcount", 0):
                    await audit.record(
                        session,
                        actor="bot",
                        action="request.refused",
                        target=str(row_id),
                        detail={"reason": reason[:200]},
                    )
        except Exception as exc:
            log.error("reviewer request %d could not be refused: %s", row_id, type(exc).__name__)
