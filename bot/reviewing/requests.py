"""Her tools ask the bot to write: each change is a request she signs (bot/crypto/requests.py).

Reviewer tools read the database and write nothing else: a decision, a question, a link, a
rewrap batch, a revocation or an audit event is signed with her export-signing key and left
for the bot — as a row of `reviewer_requests` (on PostgreSQL her role may insert there and
nowhere else), or as a line of a file the operator applies with `aigaq apply FILE` (a
reviewer working on a copy of the SQLite database). The bot checks it against the roster it
holds and applies it or says why not.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import seal
from bot.crypto.requests import SignedRequest, b64, sign_request
from bot.crypto.roster import RosterError, parse_roster
from bot.models import AuditEntry
from bot.request_rows import APPLIED, PENDING, REFUSED, ReviewerRequest
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError
from bot.reviewing.roster_pin import NoRosterYet, RosterPin
from bot.roster_copy import RosterCopy
from bot.sealing import Holder
from bot.services.reviewer_requests import local_applier

log = logging.getLogger(__name__)

WRITTEN = "written"  # to the requests file, for the operator to apply
# What her tools say when the bot has not applied a request yet.
WAITING = {
    PENDING: "Handed to the bot: it applies your request when it next runs, and the case "
    "shows it then.",
    WRITTEN: "Written to your requests file: the operator applies it on the server with "
    "`aigaq apply FILE`.",
}


def sealed_to(
    holders: list[Holder], kind: str, uid: str, content: bytes
) -> tuple[bytes, dict[str, str]]:
    """An object sealed as the bot would store it, and its wrapped keys by holder key id,
    for a request to carry (the bot writes the rows)."""
    sealed = seal(content, [holder.key for holder in holders], object_id=uid, kind=kind)
    return sealed.ciphertext, {key_id: b64(w) for key_id, w in sealed.wrapped_keys.items()}


class Sink(Protocol):
    async def hand_over(self, request: SignedRequest, *, wait: bool) -> str: ...


class TableSink:
    """Into `reviewer_requests`; then, if asked, until the bot has applied or refused it."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        timeout: float = 30.0,
        poll: float = 0.25,
        after_insert: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._timeout = timeout
        self._poll = poll
        # The bot's applier when it runs in this process (found by the database's address
        # unless given): the request is applied at once.
        self._after_insert = after_insert

    async def hand_over(self, request: SignedRequest, *, wait: bool) -> str:
        try:
            return await self._hand_over(request, wait=wait)
        except SQLAlchemyError as exc:
            raise ReviewError(
                f"the request could not be handed to the bot ({type(exc).__name__}): nothing "
                "was changed; try again"
            ) from None

    async def _hand_over(self, request: SignedRequest, *, wait: bool) -> str:
        async with self._sessionmaker() as session, session.begin():
            # Written out: her PostgreSQL role may insert these three columns and read no id,
            # so neither RETURNING nor a sequence fetched first (what SQLAlchemy would add).
            await session.execute(
                text(
                    "INSERT INTO reviewer_requests (digest, kind, document) "
                    "VALUES (:digest, :kind, :document)"
                ),
                {"digest": request.digest, "kind": request.kind, "document": request.document},
            )
        apply_now = self._after_insert or local_applier(self._sessionmaker)
        if apply_now is not None:
            # The bot runs in this process (the trial page, a test): applied at once.
            await apply_now()
        if not wait:
            return PENDING
        loop = asyncio.get_running_loop()
        until = loop.time() + self._timeout
        while True:
            state, reason = await self._state(request.digest)
            if state == REFUSED:
                raise ReviewError(f"the bot refused it: {reason}")
            if state == APPLIED:
                await self._logged(request.digest)
                return state
            if loop.time() >= until:
                return state
            await asyncio.sleep(self._poll)

    async def _state(self, digest: str) -> tuple[str, str | None]:
        async with self._sessionmaker() as session:
            row = (
                await session.execute(
                    select(ReviewerRequest.state, ReviewerRequest.reason).where(
                        ReviewerRequest.digest == digest
                    )
                )
            ).one_or_none()
        if row is None:
            raise ReviewError("the request was removed from the database before the bot took it")
        return str(row.state), row.reason

    async def _logged(self, digest: str) -> None:
        """`applied` is the database's word; the log's row naming the request is the bot's
        (in the chain her tools verify): without it, someone changed the state."""
        async with self._sessionmaker() as session:
            found = await session.scalar(
                select(AuditEntry.action)
                .where(AuditEntry.detail.contains(f'"request": "{digest}"'))
                .order_by(AuditEntry.id.desc())
                .limit(1)
            )
        if found is None or found == "request.refused":
            raise ReviewError(
                "the database says the bot applied the request, but its log does not: someone "
                "changed the request table; tell the team (`aigaq audit verify`)"
            )


class FileSink:
    """A line of a file (mode 0600) the operator applies with `aigaq apply FILE`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def hand_over(self, request: SignedRequest, *, wait: bool) -> str:
        await asyncio.to_thread(self._append, request.document)
        return WRITTEN

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


class Requests:
    """Her signed requests: made with her key, for the roster she pinned, handed to a sink."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key: ReviewerKey,
        roster_pin: RosterPin | None,
        *,
        head: Callable[[], tuple[int, str] | None] = lambda: None,
        sink: Sink | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = key
        self._roster_pin = roster_pin
        self._head = head
        self.sink: Sink = sink or TableSink(sessionmaker)
        self.last_state: str | None = None

    async def _team(self) -> str:
        """The roster key the bot checks her requests against: the one her tools pinned, or
        (tools that pin none) the key the newest roster in the database states. That is no
        trust: the bot checks her signature against its own roster, and a request naming
        another team is refused; the name only keeps a request from applying elsewhere."""
        try:
            if self._roster_pin is not None:
                return (await self._roster_pin.verified(self._sessionmaker)).signed_by
            async with self._sessionmaker() as session:
                newest = await session.scalar(
                    select(RosterCopy.document).order_by(RosterCopy.version.desc()).limit(1)
                )
            if newest is None:
                raise NoRosterYet
            return parse_roster(newest, None).signed_by
        except NoRosterYet:
            raise ReviewError(
                "the database holds no signed roster yet: the bot takes requests only from "
                "reviewers of its roster"
            ) from None
        except RosterError as exc:
            raise ReviewError(f"the team roster cannot be trusted: {exc}") from None

    async def submit(self, kind: str, body: dict[str, Any], *, wait: bool = True) -> str:
        """Sign and hand over one request: `applied`, `pending` (the bot applies it when it
        runs) or `written` (to the requests file); ReviewError if the bot refused it."""
        request = sign_request(
            self._key.signing_key(), kind, body, team=await self._team(), head=self._head()
        )
        self.last_state = await self.sink.hand_over(request, wait=wait)
        return self.last_state

    async def event(self, action: str, target: str | None = None, **detail: Any) -> None:
        """An audit event (a case viewed, an export, a refusal), never waited for; if no
        request can be made (no roster yet), it is logged here and dropped."""
        body = {"action": action, "target": target, "detail": detail}
        try:
            await self.submit("event", body, wait=False)
        except ReviewError as exc:
            log.warning("audit event %s not reported to the bot: %s", action, exc)

    async def head(self) -> str | None:
        """Sign the audit log's head her tools verified, if they verified one (never waited
        for; a head the bot refuses is audited as a refusal and alerts no one here)."""
        if self._head() is None:
            return None
        try:
            return await self.submit("head", {}, wait=False)
        except ReviewError as exc:
            log.warning("audit head not signed: %s", exc)
            return None


EventReporter = Callable[..., Awaitable[None]]
