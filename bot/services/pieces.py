"""Her answers sealed as they arrive, and their plaintext kept a while in this process only.

`DraftPieces.answer` takes an answer the way the questionnaire does (bot/services/intake.py),
seals it as a piece if it is testimony (bot/services/manifest.py) and puts the reference in
the draft; the plaintext goes to `Recall`, a dict in this process's memory keyed by the
draft's random id, never written anywhere, so that the summary can show it back to her.
After a restart (or `RECALL_TTL` without a word from her) the summary says "given (sealed)"
for what it no longer holds, and she can still change any of it.

A replaced piece is deleted only after the draft naming its replacement is committed: it
waits in `_retiring` until `after_commit`, which the application calls after every
persistence commit (bot/context.py). A crash between the two leaves a sealed piece nothing
names; the daily purge deletes those (`sweep`).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import db
from bot.case import Draft
from bot.crypto import CryptoError, ServerKey
from bot.draft_pieces import KIND, DraftPiece
from bot.draft_write import DirectKeys, DirectUpsert, in_one_handoff, one_handoff_available
from bot.i18n import N_
from bot.models import Draft as DraftRow
from bot.models import utcday
from bot.sealing import Holder, drop_keys, seal_rows
from bot.services import intake
from bot.services.manifest import (
    is_ref,
    piece_plaintext,
    pieces_named,
    ref_of,
    seal_piece,
    slots,
)
from bot.services.team import NoRecipients, TeamRoster

# The same words as handlers/files.py's not_ready_text, said when nothing can be sealed.
NOT_READY = N_(
    "The bot is not ready to receive testimony yet: the reviewing team has not set up "
    "its keys. Your answers are kept. Please try again later."
)
# How long the plaintext of a draft's answers stays in memory after her last answer: long
# enough for one sitting, far shorter than the draft's own life (AIGAQ_DRAFT_TTL_DAYS).
RECALL_TTL = timedelta(hours=12)
# The most drafts held in memory at once; the oldest is forgotten first.
RECALL_LIMIT = 10_000


class Recall:
    """The plaintext of her answers, in this process's memory only, for the summary."""

    def __init__(self, ttl: timedelta = RECALL_TTL, limit: int = RECALL_LIMIT) -> None:
        self._ttl = ttl.total_seconds()
        self._limit = limit
        self._drafts: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def put(self, draft_id: str, uid: str, value: Any) -> None:
        values = self.get(draft_id)
        values[uid] = value
        self._drafts[draft_id] = (time.monotonic() + self._ttl, values)
        self._drafts.move_to_end(draft_id)
        while len(self._drafts) > self._limit:
            self._drafts.popitem(last=False)

    def get(self, draft_id: str | None) -> dict[str, Any]:
        """What is still held for a draft (piece uid -> plaintext); empty when nothing is."""
        if draft_id is None or draft_id not in self._drafts:
            return {}
        expires, values = self._drafts[draft_id]
        if expires < time.monotonic():
            del self._drafts[draft_id]
            return {}
        self._drafts.move_to_end(draft_id)  # the least recently used goes first
        return values

    def forget(self, draft_id: str | None) -> None:
        if draft_id is not None:
            self._drafts.pop(draft_id, None)


class DraftPieces:
    """Seal answers as they arrive; delete replaced and discarded ones after the commit."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        team: TeamRoster,
        recall: Recall | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = engine
        self._team = team
        self.recall = recall or Recall()
        # Pieces no draft will name once the current update's draft is committed.
        self._retiring: list[str] = []
        # On SQLite a piece is written on the driver's connection (as drafts are).
        self._direct = (
            DirectPiece(engine.dialect)
            if engine.dialect.name == "sqlite" and one_handoff_available()
            else None
        )

    def values(self, draft: Draft) -> dict[str, Any]:
        """The plaintext still held for this draft's pieces (piece uid -> answer)."""
        return self.recall.get(draft.get("id"))

    async def keep(self, draft: Draft, value: Any, replaces: Any = None) -> dict[str, str]:
        """Seal one answer now (its own transaction); the old piece it replaces retires."""
        if self._direct is not None:
            ref = await self._direct.seal(self._engine, value, self._team.holders())
        else:
            async with self._sessionmaker() as session, session.begin():
                ref = await seal_piece(session, value, self._team.holders())
        draft_id = draft.setdefault("id", secrets.token_hex(16))
        self.recall.put(draft_id, ref["piece"], value)
        if is_ref(replaces):
            self._retiring.append(replaces["piece"])
        return ref

    async def answer(
        self, draft: Draft, given: intake.Answer, *, today: date | None = None
    ) -> None:
        """The questionnaire's answer step, with testimony sealed before the draft names it;
        raises IntakeError (nothing kept, nothing moved) to re-ask."""
        await self.adopt(draft)
        value = intake.read(draft, given, today=today)
        kept = value
        if intake.slot(draft) is not None:
            kept = await self._keep(draft, value, replaces=intake.stored(draft))
        intake.accept(draft, value, kept, today=today)

    async def _keep(self, draft: Draft, value: Any, replaces: Any = None) -> dict[str, str]:
        try:
            return await self.keep(draft, value, replaces)
        except NoRecipients:
            raise intake.IntakeError(NOT_READY) from None

    async def add_narrative(self, draft: Draft, given: intake.Answer) -> None:
        """One more piece of her story, sealed at once."""
        await self.adopt(draft)
        value = intake.narrative_piece(given)
        draft["narrative"].append(await self._keep(draft, value))

    async def adopt(self, draft: Draft) -> None:
        """A draft begun before revision 0015 (it has no id) holds her answers as they are:
        seal each now, at her next answer, so that the next write keeps only references."""
        if "id" in draft:
            return
        for _path, container, key in slots(draft):
            if not is_ref(container[key]):
                container[key] = await self._keep(draft, container[key])
        draft.setdefault("id", secrets.token_hex(16))

    def discard(self, draft: Draft) -> None:
        """/cancel: every piece of the draft goes once the draft's deletion is committed."""
        self._retiring.extend(pieces_named(draft))
        self.recall.forget(draft.get("id"))

    def submitted(self, draft: Draft) -> None:
        """After Submit: the pieces are the case's now; their plaintext is forgotten."""
        self.recall.forget(draft.get("id"))

    async def after_commit(self) -> int:
        """Delete the retired pieces (and their wrapped keys); the drafts naming their
        replacements are committed. Returns how many went."""
        if not self._retiring:
            return 0
        retiring, self._retiring = self._retiring, []
        try:
            async with self._sessionmaker() as session, session.begin():
                gone = await _delete(session, retiring, only_unlinked=True)
        except Exception:
            self._retiring = retiring + self._retiring
            raise
        if gone:
            await db.wipe_traces(self._engine)
        return gone


class DirectPiece:
    """One answer sealed, then written in one transaction on SQLite's driver thread: the
    piece and its wrapped keys inserted — one hand-off to the driver's thread where the
    ORM takes about a dozen (bot/draft_write.py says why that is most of the cost). The
    reviewer keys come from the roster in memory. The statements are SQLAlchemy's, compiled
    once."""

    def __init__(self, dialect: Dialect) -> None:
        self._piece = DirectUpsert(insert(DraftPiece), dialect)
        self._keys = DirectKeys(dialect)

    async def seal(self, engine: AsyncEngine, value: Any, holders: list[Holder]) -> dict[str, str]:
        uid = secrets.token_hex(16)
        sealed, keys = seal_rows(KIND, uid, piece_plaintext(value), holders)
        row = {"uid": uid, "sealed": sealed, "created_at": utcday(), "case_id": None}
        parameters = self._piece.parameters(row)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(self._piece.sql, parameters)
            self._keys.write(conn, keys)

        await in_one_handoff(engine, write)
        return ref_of(uid, sealed, value)


async def _delete(session: AsyncSession, uids: list[str], *, only_unlinked: bool) -> int:
    query = select(DraftPiece.uid).where(DraftPiece.uid.in_(uids))
    if only_unlinked:  # never a piece a submitted case holds
        query = query.where(DraftPiece.case_id.is_(None))
    found = list(await session.scalars(query))
    if found:
        await drop_keys(session, KIND, found)
        await session.execute(delete(DraftPiece).where(DraftPiece.uid.in_(found)))
    return len(found)


async def sweep_unnamed(session: AsyncSession, server_key: ServerKey, now: datetime) -> int:
    """The daily sweep: pieces no live draft names (read with the server key), sealed at
    least a day ago (so that none is caught between its sealing and its draft's write)."""
    named: set[str] = set()
    for data in await session.scalars(select(DraftRow.data).where(DraftRow.kind == "user")):
        try:
            named |= pieces_named(json.loads(server_key.decrypt(data, context="draft:user:")))
        except (CryptoError, ValueError):
            # A draft this key cannot open: keep every piece rather than guess.
            return 0
    return await sweep(session, named, utcday(now - timedelta(days=1)))


async def sweep(session: AsyncSession, named: set[str], before: datetime) -> int:
    """Delete the pieces of no case that no live draft names and that were sealed before
    `before` (a crash between sealing a piece and committing its draft, a replaced piece
    whose deletion did not happen, an expired draft's). Returns how many went."""
    unlinked = await session.scalars(
        select(DraftPiece.uid).where(DraftPiece.case_id.is_(None), DraftPiece.created_at < before)
    )
    stale = [uid for uid in unlinked if uid not in named]
    return await _delete(session, stale, only_unlinked=True) if stale else 0
