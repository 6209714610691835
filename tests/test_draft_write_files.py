"""A draft's file written on SQLite's driver connection (bot/draft_write.py `DirectFile`)
stores what `CaseStore.seal_attachment` stores, a failure or a cancellation leaves nothing
half-written, and each of her draft's writes is one hand-off to the driver's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from hashlib import sha256
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bot import draft_write
from bot.draft_write import DirectFile, one_handoff_available
from bot.sealing import Holder
from tests.harness import Harness

# Three 64 KiB chunks and a bit: more than one chunk row.
VOICE = b"OggS" + bytes(range(256)) * 800


def _direct(harness: Harness) -> DirectFile:
    if harness.services.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes files through SQLAlchemy only")
    return DirectFile(harness.services.engine.dialect)


async def _rows(harness: Harness, uid: str) -> dict[str, Any]:
    """What the database holds of a file, without what differs by nature (ids, ciphertext)."""
    async with harness.services.engine.connect() as connection:
        attachment = (
            await connection.execute(
                text(
                    "SELECT id, case_id, followup_id, kind, typeof(header), typeof(record), "
                    "typeof(created_at), created_at FROM attachments WHERE uid = :uid"
                ),
                {"uid": uid},
            )
        ).one()
        chunks = (
            await connection.execute(
                text(
                    "SELECT count(*), min(seq), max(seq), typeof(data) FROM attachment_chunks "
                    "WHERE attachment_id = :id"
                ),
                {"id": attachment[0]},
            )
        ).one()
        keys = (
            await connection.execute(
                text(
                    "SELECT kind, recipient_id, delivery_key_id, typeof(wrapped_key) "
                    "FROM sealed_keys WHERE object_uid = :uid ORDER BY kind"
                ),
                {"uid": uid},
            )
        ).all()
    return {
        "attachment": tuple(attachment[1:]),
        "chunks": tuple(chunks),
        "keys": [tuple(key) for key in keys],
    }


async def _rows_gone(harness: Harness, uid: str) -> bool:
    async with harness.services.engine.connect() as connection:
        keys = await connection.scalar(
            text("SELECT count(*) FROM sealed_keys WHERE object_uid = :uid"), {"uid": uid}
        )
    return keys == 0


async def _count(harness: Harness, table: str) -> int:
    async with harness.services.engine.connect() as connection:
        found = await connection.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
    return int(found or 0)


async def test_a_direct_file_is_stored_as_the_orm_stores_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = _direct(harness)
    services = harness.services
    with monkeypatch.context() as orm_only:
        orm_only.setattr(services.cases, "_direct", None, raising=False)  # SQLAlchemy's path
        orm = await services.cases.seal_attachment(
            "voice", VOICE, mime="audio/ogg", name="her voice.ogg"
        )
    fast = await direct.seal(
        services.engine,
        "voice",
        VOICE,
        services.team.holders(),
        mime="audio/ogg",
        name="her voice.ogg",
    )
    assert await _rows(harness, fast) == await _rows(harness, orm)
    assert (await _rows(harness, fast))["chunks"][0] == 4
    # The reviewer opens the file and its record as she opens the ORM's.
    assert await harness.open_attachment(fast) == VOICE
    record = await harness.reviewer_tool().attachment(fast).record()
    assert (record.sha256, record.size) == (sha256(VOICE).hexdigest(), len(VOICE))
    assert (record.mime, record.name, record.provenance) == (
        "audio/ogg",
        "her voice.ogg",
        "intake",
    )
    # And it goes with her draft like any draft file, its record's keys with it.
    assert await services.cases.discard_draft_files([fast, orm]) == 2
    assert [await _count(harness, t) for t in ("attachments", "attachment_chunks")] == [0, 0]
    assert (await _rows_gone(harness, fast), await _rows_gone(harness, orm)) == (True, True)


async def test_a_failed_direct_file_write_leaves_nothing(harness: Harness) -> None:
    direct = _direct(harness)
    services = harness.services
    before = [
        await _count(harness, table)
        for table in ("attachments", "attachment_chunks", "sealed_keys")
    ]
    # A holder that is no row of `recipients`: its wrapped key, the last statement, fails.
    real = services.team.holders()
    stranger = [Holder(key=real[0].key, recipient_id=999_999)]
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await direct.seal(services.engine, "voice", VOICE, real + stranger)
    after = [
        await _count(harness, table)
        for table in ("attachments", "attachment_chunks", "sealed_keys")
    ]
    assert after == before
    # The connection went back to the pool clean: the next file is written whole.
    uid = await direct.seal(services.engine, "photo", b"\xff\xd8\xff" + b"x" * 100, real)
    assert await harness.open_attachment(uid) == b"\xff\xd8\xff" + b"x" * 100


async def test_each_draft_write_is_one_handoff(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file, an answer's piece and the draft: each one transaction in one hand-off to
    aiosqlite's thread, through its private `_execute` (bot/draft_write.py): if an upgrade
    of the pinned aiosqlite takes it away, this fails instead of the writes quietly taking
    the ORM's slower path."""
    direct = _direct(harness)
    assert one_handoff_available()
    services = harness.services
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    uid = await direct.seal(services.engine, "voice", VOICE, services.team.holders())
    assert calls == ["_committed"]
    draft: dict[str, Any] = {}
    ref = await services.pieces.keep(draft, {"text": "Құлжа"})
    assert calls == ["_committed"] * 2
    user = harness.user(user_id=7301, language_code="en")
    calls.clear()
    await user.send_command("start")  # her account, then the draft's write
    assert calls[-1] == "_committed" and calls.count("_committed") == 1
    monkeypatch.undo()
    assert await harness.open_attachment(uid) == VOICE
    assert await harness.open_piece(ref) == {"text": "Құлжа"}


async def test_a_cancelled_write_is_whole_or_absent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while its transaction runs on the driver's thread, a write still ends there
    (committed whole), and the connection goes back to the pool clean."""
    direct = _direct(harness)
    services = harness.services
    before = await _count(harness, "attachments")
    started, release = threading.Event(), threading.Event()
    committed = draft_write._committed

    def slow(conn: Any, work: Any) -> Any:
        started.set()
        release.wait(5)
        return committed(conn, work)

    monkeypatch.setattr(draft_write, "_committed", slow)
    task = asyncio.create_task(
        direct.seal(services.engine, "voice", VOICE, services.team.holders())
    )
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    # The thread finished the transaction before the connection's next user: the file is
    # there whole, and the next write on the pool's connections works.
    assert await _count(harness, "attachments") == before + 1
    async with services.engine.connect() as connection:
        uid = await connection.scalar(text("SELECT uid FROM attachments ORDER BY id DESC"))
    assert await harness.open_attachment(str(uid)) == VOICE
    photo = b"\xff\xd8\xff" + b"y" * 100
    assert (
        await harness.open_attachment(
            await direct.seal(services.engine, "photo", photo, services.team.holders())
        )
        == photo
    )


def _orphan_chunk(conn: Any) -> None:
    """A chunk of no attachment, its foreign key checked only at COMMIT: the COMMIT fails."""
    conn.execute("PRAGMA defer_foreign_keys=ON")
    conn.execute(
        "INSERT INTO attachment_chunks (attachment_id, seq, data) VALUES (999999, 0, x'00')"
    )


def _writable_from_outside(harness: Harness) -> bool:
    """Whether another connection can take SQLite's write lock at once."""
    url = make_url(harness.settings.database_url)
    outside = sqlite3.connect(str(url.database), timeout=0.2)
    try:
        outside.execute("BEGIN IMMEDIATE")
        outside.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        outside.close()


async def test_a_failed_commit_leaves_no_lock_and_nothing_written(harness: Harness) -> None:
    """A COMMIT that fails (disk full, I/O; here a deferred foreign key) is rolled back on
    the driver's thread: no write lock stays with the pooled connection, nothing of it is
    given to the connection's next user — on the one-hand-off path and on the ORM's."""
    _direct(harness)
    services = harness.services
    with pytest.raises(sqlite3.IntegrityError):
        await draft_write.in_one_handoff(services.engine, _orphan_chunk)
    assert _writable_from_outside(harness)
    async with services.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        assert not raw.driver_connection.in_transaction
    with pytest.raises(IntegrityError):
        async with services.sessionmaker() as session, session.begin():
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA defer_foreign_keys=ON")
            await session.execute(
                text(
                    "INSERT INTO attachment_chunks (attachment_id, seq, data) "
                    "VALUES (999999, 0, x'00')"
                )
            )
    assert _writable_from_outside(harness)
    assert await _count(harness, "attachment_chunks") == 0
    photo = b"\xff\xd8\xff" + b"z" * 100
    uid = await _direct(harness).seal(services.engine, "photo", photo, services.team.holders())
    assert await harness.open_attachment(uid) == photo
