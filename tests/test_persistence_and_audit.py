"""Conversation state survives restarts, encrypted; the audit chain shows tampering."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import db
from bot.crypto import ServerKey
from bot.models import AuditEntry, Draft, utcnow
from bot.persistence import DatabasePersistence
from bot.services import audit
from tests.conftest import TestDatabase

KEY = ServerKey.from_bytes(b"k" * 32)


async def test_drafts_are_encrypted_and_come_back_after_a_restart(
    database: TestDatabase,
) -> None:
    sessions = db.make_sessionmaker(database.engine)
    first = DatabasePersistence(sessions, KEY)
    await first.update_user_data(42, {"draft": {"about": {"own_name": "Гүлбаһрам"}}})
    await first.update_conversation("intake", (42, 42), "intake")
    await first.commit()
    async with sessions() as session:
        rows = list(await session.scalars(select(Draft)))
    assert len(rows) == 2
    for row in rows:
        assert "Гүлбаһрам".encode() not in row.data
        assert row.ref != "42" and len(row.ref) == 64
    second = DatabasePersistence(sessions, KEY)
    assert await second.get_user_data() == {42: {"draft": {"about": {"own_name": "Гүлбаһрам"}}}}
    assert await second.get_conversations("intake") == {(42, 42): "intake"}
    await second.update_conversation("intake", (42, 42), None)
    await second.drop_user_data(42)
    await second.commit()
    assert await DatabasePersistence(sessions, KEY).get_user_data() == {}


async def test_another_server_key_reads_nothing(database: TestDatabase) -> None:
    sessions = db.make_sessionmaker(database.engine)
    persistence = DatabasePersistence(sessions, KEY)
    await persistence.update_user_data(7, {"locale": "kk"})
    await persistence.commit()
    other = DatabasePersistence(sessions, ServerKey.from_bytes(b"o" * 32))
    # The bot still starts; what another key wrote is simply not there for it.
    assert await other.get_user_data() == {}


async def test_expired_drafts_are_purged(database: TestDatabase) -> None:
    sessions = db.make_sessionmaker(database.engine)
    persistence = DatabasePersistence(sessions, KEY, ttl=timedelta(days=7))
    await persistence.update_user_data(1, {"draft": {}})
    await persistence.update_user_data(2, {"draft": {}})
    await persistence.commit()
    async with sessions() as session, session.begin():
        await session.execute(
            update(Draft).where(Draft.id == 1).values(expires_at=utcnow() - timedelta(hours=1))
        )
    assert set(await persistence.get_user_data()) == {2}
    assert await persistence.purge_expired() == 1


async def test_audit_chain_verifies_and_names_the_first_broken_row(
    database: TestDatabase,
) -> None:
    sessions = db.make_sessionmaker(database.engine)
    async with sessions() as session, session.begin():
        for number in range(5):
            await audit.record(
                session,
                actor="cli",
                action="case.withdrawn",
                target=f"AAAA-000{number}",
                detail={"attachments": number},
            )
    async with sessions() as session:
        report = await audit.verify_chain(session)
    assert (report.rows, report.first_broken) == (5, None)
    async with sessions() as session, session.begin():
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == 3).values(target="BBBB-9999")
        )
    async with sessions() as session:
        report = await audit.verify_chain(session)
    assert report.first_broken == 3


async def test_a_failed_commit_keeps_the_changes_for_the_next_one(
    database: TestDatabase, monkeypatch: Any
) -> None:
    sessions = db.make_sessionmaker(database.engine)
    persistence = DatabasePersistence(sessions, KEY)
    await persistence.update_user_data(5, {"draft": {"step": "name"}})

    class Broken:
        def begin(self) -> Any:
            raise ConnectionError("database went away")

        def connect(self) -> Any:  # the one-hand-off write on SQLite (bot/draft_write.py)
            raise ConnectionError("database went away")

    real = persistence._engine
    persistence._engine = Broken()  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        await persistence.commit()
    persistence._engine = real
    await persistence.commit()
    again = DatabasePersistence(sessions, KEY)
    assert await again.get_user_data() == {5: {"draft": {"step": "name"}}}
