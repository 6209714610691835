"""Her draft's writes on SQLite with fewer hand-offs: the draft after every update, each answer
as it arrives, her files.

aiosqlite runs each driver call on its own thread and wakes the event loop when it is done;
that hand-off, not SQLite, is most of what a small write costs (BENCHMARKS.md, "Intake over
HTTP"). Through SQLAlchemy one upsert is four of them (open a cursor, execute, close it,
commit). Here a whole transaction — its statements and the COMMIT, or the ROLLBACK after any
error — is one function run on the driver's thread: one hand-off. The statements are still
SQLAlchemy's, compiled once, and their values go through the columns' own bind processors,
so the rows are stored exactly as SQLAlchemy would store them. PostgreSQL (asyncpg has no
thread) keeps the ordinary path, and so does SQLite where `one_handoff_available()` is false.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert

from bot.file_record import KIND as FILE_RECORD
from bot.file_record import FileRecord, Origin
from bot.models import Attachment, AttachmentChunk, SealedKey, utcday
from bot.sealing import Holder, seal_rows, seal_stream_rows

T = TypeVar("T")


def one_handoff_available() -> bool:
    """Whether a function can run on aiosqlite's thread. aiosqlite offers that only through
    `Connection._execute` and the sqlite3 connection `Connection._conn` (private, both in every
    release since 0.17; the version is pinned in requirements.lock, and
    tests/test_draft_write_files.py fails if an upgrade takes them away). Without them the
    callers write through the ORM, as on PostgreSQL."""
    return callable(getattr(aiosqlite.Connection, "_execute", None)) and isinstance(
        getattr(aiosqlite.Connection, "_conn", None), property
    )


async def in_one_handoff(engine: AsyncEngine, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` on a pooled connection's own thread as one transaction: committed there, or
    rolled back there on any error, before the connection can go back to the pool. If the
    caller is cancelled meanwhile, the thread still finishes the transaction first (it runs
    the next user's statements only after)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if driver is None:
            raise RuntimeError("the database connection is closed")
        result: T = await driver._execute(_committed, driver._conn, work)
        return result


def _committed(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    if conn.in_transaction:  # never join what another user left open: start clean
        conn.rollback()
    try:
        result = work(conn)
        conn.commit()
    except BaseException:
        # The work failed, or the COMMIT did (disk full, I/O): nothing of it stays, and the
        # connection goes back to the pool without SQLite's write lock.
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()
        raise
    return result


class DirectUpsert:
    """One compiled INSERT … ON CONFLICT, executed for many rows on the raw sqlite3
    connection in one transaction."""

    def __init__(self, statement: Insert, dialect: Dialect) -> None:
        table = statement.table
        self._columns = [column.key for column in table.columns if column.key != "id"]
        compiled = statement.compile(dialect=dialect, column_keys=self._columns)
        self._sql = str(compiled)
        self._compiled = compiled
        self._order = list(compiled.positiontup or ())
        columns = {column.key: column for column in table.columns}
        identity: Callable[[Any], Any] = lambda value: value  # noqa: E731
        self._process: list[Callable[[Any], Any]] = []
        for name in self._order:
            column = columns.get(name)
            processor = (
                column.type.dialect_impl(dialect).bind_processor(dialect)
                if column is not None
                else None
            )
            self._process.append(processor or identity)

    @property
    def sql(self) -> str:
        """The compiled statement, for a caller running several in one transaction."""
        return self._sql

    def parameters(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """The row as the driver's positional parameters (columns it lacks are NULL)."""
        values = self._compiled.construct_params({k: row.get(k) for k in self._columns})
        return tuple(
            process(values[name]) for name, process in zip(self._order, self._process, strict=True)
        )

    async def write(self, engine: AsyncEngine, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert the rows in one transaction, one hand-off."""
        if not rows:
            return
        parameters = [self.parameters(row) for row in rows]
        await in_one_handoff(engine, lambda conn: conn.executemany(self._sql, parameters))


class DirectKeys:
    """Wrapped-key rows (from `seal_rows`, `seal_stream_rows`) inserted in one call."""

    def __init__(self, dialect: Dialect) -> None:
        self._insert = DirectUpsert(insert(SealedKey), dialect)

    def write(self, conn: sqlite3.Connection, keys: Sequence[SealedKey]) -> None:
        """Insert them on the driver's thread, inside the caller's transaction."""
        conn.executemany(
            self._insert.sql,
            [
                self._insert.parameters(
                    {
                        "kind": key.kind,
                        "object_uid": key.object_uid,
                        "recipient_id": key.recipient_id,
                        "delivery_key_id": key.delivery_key_id,
                        "wrapped_key": key.wrapped_key,
                    }
                )
                for key in keys
            ],
        )


class DirectFile:
    """A file of her draft sealed, then written in one transaction on the driver's thread:
    the attachment row with its sealed record, its chunks, the wrapped keys of both — one
    hand-off where the ORM takes sixteen. What is stored is what `CaseStore.seal_attachment`
    stores (tests/test_draft_write_files.py compares them)."""

    def __init__(self, dialect: Dialect) -> None:
        self._attachment = DirectUpsert(insert(Attachment), dialect)
        self._chunk = DirectUpsert(insert(AttachmentChunk), dialect)
        self._keys = DirectKeys(dialect)

    async def seal(
        self,
        engine: AsyncEngine,
        kind: str,
        data: bytes,
        holders: Sequence[Holder],
        *,
        case_id: int | None = None,
        mime: str | None = None,
        name: str | None = None,
        origin: Origin | None = None,
    ) -> str:
        """Seal the file chunk by chunk and its record beside it, then write both; its uid."""
        uid = secrets.token_hex(16)
        stream, keys = seal_stream_rows("attachment", uid, io.BytesIO(data), holders)
        chunks = list(stream)  # the ORM holds every chunk's row until its commit too
        record = FileRecord.received(
            kind, sha256=stream.sha256, size=stream.size, mime=mime, name=name, origin=origin
        )
        sealed_record, record_keys = seal_rows(FILE_RECORD, uid, record.to_bytes(), holders)
        row = {
            "uid": uid,
            "case_id": case_id,
            "followup_id": None,
            "kind": kind,
            "header": stream.header,
            "record": sealed_record,
            "created_at": utcday(),
        }

        def write(conn: sqlite3.Connection) -> None:
            attachment_id = conn.execute(
                self._attachment.sql, self._attachment.parameters(row)
            ).lastrowid
            conn.executemany(
                self._chunk.sql,
                [
                    self._chunk.parameters({"attachment_id": attachment_id, "seq": seq, "data": c})
                    for seq, c in enumerate(chunks)
                ],
            )
            self._keys.write(conn, keys + record_keys)

        await in_one_handoff(engine, write)
        return uid
