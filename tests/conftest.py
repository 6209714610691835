"""Shared fixtures: a real database (SQLite by default, PostgreSQL when asked), real keys.

Set AIGAQ_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run the
whole suite against that PostgreSQL database. Its `public` schema is dropped and rebuilt.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import db
from bot.models import Base
from bot.settings import Settings

# PTB 22 reports retry_after as seconds unless opted in to timedelta, its future type.
os.environ.setdefault("PTB_TIMEDELTA", "1")

DATABASE_URL = os.environ.get("AIGAQ_TEST_DATABASE_URL", "")
REQUIRE_DATABASE = os.environ.get("AIGAQ_TEST_REQUIRE_DATABASE") == "1"


def _normalise(url: str) -> str:
    return Settings(database_url=url).database_url if url else url


def pytest_report_header() -> str:
    backend = make_url(_normalise(DATABASE_URL)).get_backend_name() if DATABASE_URL else "sqlite"
    return f"aigaq test database: {backend}"


@dataclass
class TestDatabase:
    """A database at head, empty, for one test."""

    __test__ = False  # not a test class, despite its name

    url: str
    engine: AsyncEngine

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"


async def _reset_postgres(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite file to copy, or the PostgreSQL schema."""
    if DATABASE_URL:
        url = _normalise(DATABASE_URL)
        try:
            asyncio.run(_reset_postgres(url))
        except Exception as exc:
            message = f"PostgreSQL at AIGAQ_TEST_DATABASE_URL is unreachable: {type(exc).__name__}"
            if REQUIRE_DATABASE:
                pytest.exit(message, returncode=3)
            pytest.skip(message)
        asyncio.run(db.upgrade(url))
        return url
    path = tmp_path_factory.mktemp("template") / "aigaq.db"
    asyncio.run(db.upgrade(f"sqlite+aiosqlite:///{path}"))
    return str(path)


@pytest.fixture
async def database(migrated_template: str, tmp_path: Path) -> AsyncIterator[TestDatabase]:
    """An empty database at head: a fresh SQLite copy, or truncated PostgreSQL tables."""
    if DATABASE_URL:
        url = migrated_template
        engine = db.create_engine(url)
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        path = tmp_path / "aigaq.db"
        shutil.copyfile(migrated_template, path)
        url = f"sqlite+aiosqlite:///{path}"
        engine = db.create_engine(url)
    try:
        yield TestDatabase(url=url, engine=engine)
    finally:
        await engine.dispose()


@pytest.fixture
def scratch_database_url(tmp_path: Path, migrated_template: str) -> Iterator[str]:
    """An empty database with no schema at all, for migration tests."""
    if DATABASE_URL:
        asyncio.run(_reset_postgres(migrated_template))
        yield migrated_template
        # Leave PostgreSQL at head for the tests after this one.
        asyncio.run(_reset_postgres(migrated_template))
        asyncio.run(db.upgrade(migrated_template))
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"


@pytest.fixture
async def fresh_database_url(tmp_path: Path, migrated_template: str) -> AsyncIterator[str]:
    """Another database of the same kind with nothing in it, as a restore target: a SQLite
    file not yet made, or a new PostgreSQL database on the same server (dropped after)."""
    if not DATABASE_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'aigaq.db'}"
        return
    name = f"aigaq_restore_{os.getpid()}_{id(tmp_path) % 100000}"
    server = make_url(migrated_template)
    admin = db.create_engine(server.set(database="postgres").render_as_string(hide_password=False))
    try:
        async with admin.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await autocommit.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def harness(database: TestDatabase, tmp_path: Path) -> AsyncIterator[Any]:
    """The real bot on the fake Bot API, started, with one reviewer key."""
    from bot.localapi import LocalBotApi
    from tests.harness import Harness, make_settings

    settings, reviewer = make_settings(tmp_path, database.url)
    bot = Harness(settings=settings, api=LocalBotApi(), reviewer=reviewer)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


@pytest.fixture(autouse=True)
def reviewer_keys_list_their_signing_keys() -> Iterator[None]:
    """Every reviewer key made in a test is remembered with its export-signing key, so that
    a roster the test signs lists it as an admin's roster lists `aigaq keys generate`'s
    two lines (the bot takes signed requests only from a key its roster lists)."""
    from bot.reviewing.keys import ReviewerKey
    from tests.harness import SIGNING_KEYS

    made = ReviewerKey.generate.__func__  # type: ignore[attr-defined]

    def generate(cls: type[ReviewerKey], *args: Any, **kwargs: Any) -> ReviewerKey:
        key = made(cls, *args, **kwargs)
        SIGNING_KEYS[key.key_id] = key.signing_key().public_key()
        return key

    ReviewerKey.generate = classmethod(generate)  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        ReviewerKey.generate = classmethod(made)  # type: ignore[method-assign, assignment]
