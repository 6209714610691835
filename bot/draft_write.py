"""Her draft's writes on SQLite with fewer hand-offs: the draft after every update, her files.

aiosqlite runs each driver call on its own thread and wakes the event loop when it is done;
that hand-off, not SQLite, is most of what a small write costs (BENCHMARKS.md, "Intake over
HTTP"). Through SQLAlchemy one upsert is four of them (open a cursor, execute, close it,
commit); on the driver's connection it is two (execute, commit). The statement is still
SQLAlchemy's, compiled once, and its values go through the columns' own bind processors, so
the row is stored exactly as SQLAlchemy would store it. PostgreSQL (asyncpg has no thread)
keeps the ordinary path.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert

from bot.file_record import KIND as FILE_RECORD
from bot.file_record import FileRecord, Origin
from bot.models import Attachment, AttachmentChunk, SealedKey, utcday
from bot.sealing import Holder, seal_rows, seal_stream_rows


class DirectUpsert:
    """One compiled INSERT … ON CONFLICT, executed for many rows on the raw aiosqlite
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
        """Upsert the rows in one transaction: SQLAlchemy begins and commits it (or rolls it
        back on any error), the statement goes to the driver's connection directly."""
        if not rows:
            return
        parameters = [self.parameters(row) for row in rows]
        async with driver_transaction(engine) as driver:
            await driver.executemany(self._sql, parameters)


@asynccontextmanager
async def driver_transaction(engine: AsyncEngine) -> AsyncIterator[Any]:
    """One transaction that SQLAlchemy begins and commits (or rolls back on any error, the
    connection going back to the pool clean); the caller's statements go to the driver's
    connection (aiosqlite's) inside it."""
    async with engine.begin() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if driver is None:
            raise RuntimeError("the database connection is closed")
        yield driver


class DirectKeys:
    """Wrapped-key rows (from `seal_rows`, `seal_stream_rows`) inserted in one call."""

    def __init__(self, dialect: Dialect) -> None:
        self._insert = DirectUpsert(insert(SealedKey), dialect)

    async def write(self, driver: Any, keys: Sequence[SealedKey]) -> None:
        """Insert them on the driver's connection, inside the caller's transaction."""
        await driver.executemany(
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
    """A file of her draft sealed, then written in one transaction on the driver's connection:
    the attachment row with its sealed record, its chunks, the wrapped keys of both — four
    hand-offs where the ORM takes sixteen. What is stored is what `CaseStore.seal_attachment`
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
        async with driver_transaction(engine) as driver:
            cursor = await driver.execute(self._attachment.sql, self._attachment.parameters(row))
            attachment_id = cursor.lastrowid
            await driver.executemany(
                self._chunk.sql,
                [
                    self._chunk.parameters({"attachment_id": attachment_id, "seq": seq, "data": c})
                    for seq, c in enumerate(chunks)
                ],
            )
            await self._keys.write(driver, keys + record_keys)
        return uid
