"""The schema changes only through Alembic: head matches the models, and every step reverses."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot import db
from bot.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_head_matches_the_models(scratch_database_url: str) -> None:
    await db.upgrade(scratch_database_url)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_with_data(scratch_database_url: str) -> None:
    await db.upgrade(scratch_database_url)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO accounts (pseudonym, role, subscribed, created_at, updated_at)"
                    " VALUES ('p1', 'relative', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        await db.downgrade(scratch_database_url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await db.upgrade(scratch_database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
            assert await db.current_revision(engine) == db.head_revision()
    finally:
        await engine.dispose()


async def test_refuses_to_start_behind_head(scratch_database_url: str) -> None:
    engine = db.create_engine(scratch_database_url)
    try:
        try:
            await db.ensure_schema_current(engine)
        except db.SchemaOutOfDate as exc:
            assert "aigaq db upgrade" in str(exc)
        else:
            raise AssertionError("an empty database was accepted")
        await db.upgrade(scratch_database_url)
        await db.ensure_schema_current(engine)
    finally:
        await engine.dispose()
