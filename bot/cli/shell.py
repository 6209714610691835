"""What every command's thin shell shares: one error line, the settings, the backend, `run`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from bot import db
from bot.crypto import CryptoError, ServerKey
from bot.models import CaseStatus
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.services.accounts import Accounts

T = TypeVar("T")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear message to stderr and exit; no traceback."""
    typer.echo(f"aigaq: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def case_status(name: str) -> CaseStatus:
    try:
        return CaseStatus(name)
    except ValueError:
        fail("the status is one of " + ", ".join(s.value for s in CaseStatus))


class Backend:
    """The database, and the server key for the commands that run beside the bot. A
    reviewer's commands never touch the server key: it is read only when a command asks for
    it, so on her machine, where it is not, they work all the same."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = db.create_engine(settings.database_url)
        self.sessionmaker = db.make_sessionmaker(self.engine)

    @cached_property
    def server_key(self) -> ServerKey:
        try:
            return ServerKey.load(self.settings.secret_key_file)
        except CryptoError as exc:
            fail(str(exc))

    @cached_property
    def accounts(self) -> Accounts:
        from bot.services.accounts import Accounts

        return Accounts(self.sessionmaker, self.server_key)

    async def __aenter__(self) -> Backend:
        try:
            await db.ensure_schema_current(self.engine)
        except db.SchemaOutOfDate as exc:
            await self.engine.dispose()
            fail(str(exc))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.engine.dispose()


def run(
    work: Callable[[Backend], Awaitable[T]],
    *,
    errors: tuple[type[Exception], ...] = (),
    explain: Callable[[Exception], str] = str,
) -> T:
    """Await `work` on an open backend; any of `errors` becomes one line on stderr, exit 2."""

    async def on_backend() -> T:
        async with Backend(settings_or_exit()) as backend:
            return await work(backend)

    try:
        return asyncio.run(on_backend())
    except errors as exc:
        fail(explain(exc))
