"""SQLite's direct draft write (bot/draft_write.py) stores exactly what SQLAlchemy would, and a
failure leaves nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot import db
from bot.crypto import ServerKey
from bot.models import utcday
from bot.persistence import DatabasePersistence
from tests.conftest import TestDatabase

KEY = ServerKey.from_bytes(b"d" * 32)


def _persistence(database: TestDatabase) -> DatabasePersistence:
    if database.is_postgres:
        pytest.skip("PostgreSQL writes drafts through SQLAlchemy only")
    return DatabasePersistence(db.make_sessionmaker(database.engine), KEY)


async def _stored(database: TestDatabase) -> list[tuple[object, ...]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT kind, name, typeof(updated_at), updated_at, expires_at, reminded_at "
                "FROM drafts ORDER BY id"
            )
        )
        return [tuple(row) for row in rows]


async def test_the_direct_write_stores_what_sqlalchemy_stores(database: TestDatabase) -> None:
    persistence = _persistence(database)
    direct = persistence._direct
    assert direct is not None
    await persistence.update_user_data(1, {"draft": {"step": "name"}})
    await persistence.commit()  # the direct path
    persistence._direct = None
    await persistence.update_user_data(2, {"draft": {"step": "name"}})
    await persistence.commit()  # SQLAlchemy's
    first, second = await _stored(database)
    assert first == second
    assert first[2] == "text" and str(first[3]).startswith(utcday().strftime("%Y-%m-%d"))
    # And both read back as the same drafts.
    again = DatabasePersistence(db.make_sessionmaker(database.engine), KEY)
    assert await again.get_user_data() == {
        1: {"draft": {"step": "name"}},
        2: {"draft": {"step": "name"}},
    }


async def test_a_failed_direct_write_rolls_back_everything(database: TestDatabase) -> None:
    persistence = _persistence(database)
    direct = persistence._direct
    assert direct is not None
    good = {"kind": "user", "name": "", "ref": "a" * 64, "data": b"x", "updated_at": utcday()}
    bad = {"kind": None, "name": "", "ref": "b" * 64, "data": b"x", "updated_at": utcday()}
    with pytest.raises(Exception, match="NOT NULL"):
        await direct.write(database.engine, [good, bad])
    assert await _stored(database) == []
    # The connection went back to the pool clean: the next write commits.
    await direct.write(database.engine, [good])
    assert len(await _stored(database)) == 1
