"""PTB persistence in the database: every value encrypted with the server key, never pickled.

Rows are found by a keyed hash of the Telegram id (`ref`); the id itself is stored only
inside the encrypted value, so a dumped database does not say who talked to the bot.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot import db
from bot.crypto import CryptoError, ServerKey
from bot.draft_write import DirectUpsert, one_handoff_available
from bot.models import Draft, utcday, utcnow

log = logging.getLogger(__name__)

USER = "user"
CONVERSATION = "conversation"
# user_data keys that hold what she answered (the intake's draft).
ANSWER_SLOTS = ("draft",)


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Stores user data and conversation states in `drafts`, encrypted, with an expiry."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        *,
        ttl: timedelta = timedelta(days=7),
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            # The application writes after every update (see bot.app); this is only a backstop.
            update_interval=5,
        )
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._ttl = ttl
        # What this process last wrote to each slot (a digest), to skip rewriting the same.
        self._written: dict[str, bytes] = {}
        # Users whose stored data holds a dialogue's answers; when that goes (Submit, /cancel),
        # the commit also wipes the earlier versions of their row from the disk.
        self._answering: set[str] = set()
        self._wipe = False
        self._engine = sessionmaker.kw["bind"]
        # One compiled upsert, reused: insert the slot, or replace its data and expiry.
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(Draft)
        self._upsert = statement.on_conflict_do_update(
            index_elements=["kind", "name", "ref"],
            set_={
                "data": statement.excluded.data,
                "updated_at": statement.excluded.updated_at,
                "expires_at": statement.excluded.expires_at,
                "reminded_at": None,
            },
        )
        # On SQLite the every-update write goes to the driver directly (see DirectUpsert).
        self._direct = (
            DirectUpsert(self._upsert, self._engine.dialect)
            if self._engine.dialect.name == "sqlite" and one_handoff_available()
            else None
        )
        # ref -> (kind, name, plaintext JSON or None to delete, digest)
        self._pending: dict[str, tuple[str, str, str | None, bytes | None]] = {}

    # -- encoding -------------------------------------------------------------------------

    def _ref(self, kind: str, name: str, key: object) -> str:
        return self._key.pseudonym(f"draft:{kind}:{name}", json.dumps(key))

    def _open(self, row: Draft) -> Any:
        return json.loads(self._key.decrypt(row.data, context=f"draft:{row.kind}:{row.name}"))

    def _open_all(self, rows: Iterable[Draft]) -> list[Any]:
        opened, unreadable = [], 0
        for row in rows:
            try:
                opened.append(self._open(row))
            except CryptoError:
                unreadable += 1
        if unreadable:
            # Another server key wrote them (a lost or replaced key): start without them.
            log.warning("%d stored drafts cannot be opened with this server key", unreadable)
        return opened

    async def _rows(self, session: AsyncSession, kind: str, name: str) -> Iterable[Draft]:
        now = utcnow()
        result = await session.scalars(select(Draft).where(Draft.kind == kind, Draft.name == name))
        return [row for row in result if row.expires_at is None or _aware(row.expires_at) > now]

    async def _put(self, kind: str, name: str, key: object, value: object) -> None:
        """Stage a write; `commit` writes everything staged in one transaction."""
        ref = self._ref(kind, name, key)
        self._note_answers(ref, kind, value)
        plain = json.dumps({"key": key, "value": value}, ensure_ascii=False, sort_keys=True)
        digest = hashlib.sha256(plain.encode()).digest()
        if self._written.get(ref) == digest:
            # PTB hands over every user it touched; most updates change only one slot.
            self._pending.pop(ref, None)
            return
        self._pending[ref] = (kind, name, plain, digest)

    async def _drop(self, kind: str, name: str, key: object) -> None:
        ref = self._ref(kind, name, key)
        self._note_answers(ref, kind, None)
        self._pending[ref] = (kind, name, None, None)

    def _note_answers(self, ref: str, kind: str, value: object) -> None:
        if kind != USER:
            return
        if isinstance(value, dict) and any(k in value for k in ANSWER_SLOTS):
            self._answering.add(ref)
        elif ref in self._answering:
            self._answering.discard(ref)
            self._wipe = True

    async def commit(self) -> None:
        """Write every staged change (upserts and deletions) in one transaction."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        # Dated to the day, like everything of hers: the row's times must not match the exact
        # moment of a submit or an answer elsewhere. It expires at the midnight after its TTL.
        today = utcday()
        drops = [ref for ref, (_k, _n, plain, _d) in pending.items() if plain is None]
        rows = [
            {
                "kind": kind,
                "name": name,
                "ref": ref,
                "data": self._key.encrypt(plain.encode(), context=f"draft:{kind}:{name}"),
                "updated_at": today,
                "expires_at": today + self._ttl + timedelta(days=1),
            }
            for ref, (kind, name, plain, _digest) in pending.items()
            if plain is not None
        ]
        try:
            if self._direct is not None and not drops:
                await self._direct.write(self._engine, rows)
            else:
                async with self._engine.begin() as connection:
                    if drops:
                        await connection.execute(delete(Draft).where(Draft.ref.in_(drops)))
                    if rows:
                        await connection.execute(self._upsert, rows)
        except Exception:
            # Nothing was written: keep it staged (newer changes win) for the next commit.
            self._pending = pending | self._pending
            raise
        for ref, (_kind, _name, _plain, digest) in pending.items():
            if digest is None:
                self._written.pop(ref, None)
            else:
                self._written[ref] = digest
        if self._wipe:
            self._wipe = not await db.wipe_traces(self._engine)

    # -- BasePersistence ----------------------------------------------------------------

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        async with self._sessionmaker() as session:
            opened = self._open_all(await self._rows(session, USER, ""))
        for item in opened:
            self._note_answers(self._ref(USER, "", item["key"]), USER, item["value"])
        return {int(item["key"]): item["value"] for item in opened}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        if data:
            await self._put(USER, "", user_id, data)
        else:
            await self._drop(USER, "", user_id)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop(USER, "", user_id)

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to refresh: this process is the only writer of a user's draft."""

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._sessionmaker() as session:
            opened = self._open_all(await self._rows(session, CONVERSATION, name))
        return {tuple(item["key"]): item["value"] for item in opened}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        if new_state is None:
            await self._drop(CONVERSATION, name, list(key))
        else:
            await self._put(CONVERSATION, name, list(key), new_state)

    async def purge_expired(self) -> int:
        """Delete drafts past their expiry (and their traces on disk); returns how many went."""
        from bot.services.pieces import sweep_unnamed  # the services build on this module

        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(delete(Draft).where(Draft.expires_at <= utcnow()))
            # Her sealed answers that no live draft names any more go with them.
            await sweep_unnamed(session, self._key, utcnow())
        purged = int(getattr(result, "rowcount", 0) or 0)
        if purged:
            await db.wipe_traces(self._engine)
        return purged

    # Chat, bot and callback data are not stored: Aigaq talks only in private chats.

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        """Chat data is not stored."""

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        """Bot data is not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Callback data is not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Chat data is not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        """Chat data is not stored."""

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        """Bot data is not stored."""

    async def flush(self) -> None:
        """At shutdown: write what is still staged."""
        await self.commit()


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
