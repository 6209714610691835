"""Database engine, sessions and the migration check. Nothing is created at import time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class SchemaOutOfDate(Exception):
    """The database is not at the newest migration; the message says how to fix it."""


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Make the async engine; for SQLite, create the folder and turn on WAL and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        # Every connection is handed back with its transaction ended (SQLAlchemy's
        # Connection and Session commit or roll back before they return it), so the pool's
        # own ROLLBACK on return only costs a trip to aiosqlite's thread: two in three
        # returns were paying one for nothing (BENCHMARKS.md, "Intake over HTTP"). The one
        # left open by a failed COMMIT is rolled back (`_end_a_left_transaction`).
        kwargs.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine.pool, "reset", _end_a_left_transaction)
    return engine


def _end_a_left_transaction(dbapi_connection: Any, record: Any, state: Any) -> None:
    """A connection handed back still inside a transaction (a COMMIT that failed, disk full
    or an I/O error, after which nobody rolled back) would keep SQLite's write lock and give
    its half-done writes to the next user: roll it back. The check reads a flag, with no trip
    to aiosqlite's thread; only such a connection pays for its ROLLBACK."""
    driver = record.driver_connection
    if state.asyncio_safe and driver is not None and driver.in_transaction:
        dbapi_connection.rollback()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted testimony, drafts and keys are overwritten in the file, not just unlinked, and
    # the write-ahead log shrinks to nothing when it is reset (see `wipe_traces`).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_size_limit=0")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def wipe_traces(engine: AsyncEngine) -> bool:
    """After a draft is submitted or cancelled, a case withdrawn or drafts purged: move the
    write-ahead log into the database file (where secure_delete has zeroed what was deleted)
    and truncate it, so earlier versions of the rows are gone from the disk. SQLite only;
    PostgreSQL keeps old row versions until VACUUM (docs/deploy.md). Returns whether the
    whole log was written back (False if a reader held it; the next call catches up)."""
    if engine.dialect.name != "sqlite":
        return False
    async with engine.connect() as connection:
        # On aiosqlite's connection itself: one hand-off to its thread, where SQLAlchemy's
        # cursor takes three and the connection's close a ROLLBACK (bot/draft_write.py).
        raw = await connection.get_raw_connection()
        if raw.driver_connection is None:
            raise RuntimeError("the database connection is closed")
        rows = await raw.driver_connection.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = next(iter(rows))[0]
    return not busy


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory; services open one session per unit of work."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic's configuration, built in code so it works from any working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision in migrations/versions."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("migrations/versions holds no revision")
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Refuse to run on a database that is behind (or ahead of) the code."""
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"The database is at revision {current or 'none (empty)'}, the code needs {head}. "
            "Run `aigaq db upgrade` (make run does it for you)."
        )


async def upgrade(url: str, revision: str = "head") -> None:
    """Run Alembic's upgrade; env.py is async, so it runs in a worker thread of its own."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def downgrade(url: str, revision: str) -> None:
    """Run Alembic's downgrade to the given revision."""
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)
