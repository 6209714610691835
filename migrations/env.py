"""Alembic environment: async, driven by the URL that bot.db.alembic_config sets."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from bot.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Each revision one real SQLite transaction: pysqlite would BEGIN only before the first
    INSERT/UPDATE/DELETE, so a failed revision would keep the tables it had created by then."""

    @event.listens_for(engine.sync_engine, "connect")
    def _driver_never_begins(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    """Turn SQLite's foreign keys on or off, outside any transaction (inside one the pragma is
    silently ignored), straight on the driver so SQLAlchemy begins none; then check it took."""
    connection.rollback()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.execute("PRAGMA foreign_keys")
        state = cursor.fetchone()[0]
    finally:
        cursor.close()
    if bool(state) != on:
        raise RuntimeError(f"PRAGMA foreign_keys did not turn {'on' if on else 'off'}")


def _check_foreign_keys(*, ctx: Any, **_: Any) -> None:
    """After each revision, inside its transaction: every reference still points at a row."""
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"migration left rows pointing at nothing (table, rowid, …): {broken}")


def _run(connection: Connection) -> None:
    # On SQLite a batch migration copies a table and drops the old one; with foreign keys on,
    # dropping `cases` would cascade to every attachment, note, notice and follow-up, and
    # dropping `followups` would unlink every answer. So they are off while migrating, and
    # each revision is checked before it commits.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            on_version_apply=[_check_foreign_keys] if sqlite else [],
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            _foreign_keys(connection, on=True)


async def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
