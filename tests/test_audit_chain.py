"""Concurrent audit writers extend one chain instead of forking it (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot import db
from bot.models import AuditEntry
from bot.services import audit
from tests.conftest import TestDatabase

WRITERS = 10


async def test_concurrent_writers_extend_one_chain(database: TestDatabase) -> None:
    sessions = db.make_sessionmaker(database.engine)
    async with sessions() as session, session.begin():
        await audit.record(session, actor="cli", action="roles.granted")

    async def writer(number: int) -> None:
        async with sessions() as session, session.begin():
            await audit.record(session, actor="cli", action="case.withdrawn", target=f"W{number}")
            # Hold the transaction open so the others read the last hash meanwhile.
            await asyncio.sleep(0.1)

    await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(WRITERS))), timeout=60)

    async with sessions() as session:
        report = await audit.verify_chain(session)
        prev_hashes = list(await session.scalars(select(AuditEntry.prev_hash)))
    assert (report.rows, report.first_broken) == (WRITERS + 1, None)
    assert len(set(prev_hashes)) == WRITERS + 1
