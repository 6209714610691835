"""`aigaq doctor`: one line per thing a volunteer can get wrong, and whether it is right."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import BaseRequest

from bot import db
from bot.crypto import CryptoError, ServerKey, load_recipients
from bot.settings import Settings, SettingsError

CLOCK_TOLERANCE = 120  # seconds


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _token(settings: Settings, request: BaseRequest | None) -> Check:
    try:
        token = settings.require_token()
    except SettingsError as exc:
        return Check("token", False, str(exc))
    bot = Bot(
        token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=request,
        get_updates_request=request,
    )
    try:
        async with bot:
            me = await bot.get_me()
    except InvalidToken:
        return Check("token", False, "Telegram does not accept AIGAQ_BOT_TOKEN (ask @BotFather)")
    except TelegramError as exc:
        return Check("token", False, f"Telegram could not be reached: {type(exc).__name__}")
    return Check("token", True, f"the bot is @{me.username}")


async def _webhook(settings: Settings, request: BaseRequest | None, url: str | None) -> Check:
    if not url:
        return Check("webhook", True, "long polling (no webhook to check)")
    if settings.webhook_secret is None:
        return Check("webhook", False, "AIGAQ_WEBHOOK_SECRET is not set")
    bot = Bot(
        settings.require_token(),
        base_url=settings.telegram_api_url,
        request=request,
        get_updates_request=request,
    )
    try:
        async with bot:
            info = await bot.get_webhook_info()
    except TelegramError as exc:
        return Check("webhook", False, f"Telegram could not be reached: {type(exc).__name__}")
    if info.url != url:
        return Check("webhook", False, f"Telegram has {info.url or 'no webhook'}, not {url}")
    if info.last_error_message:
        return Check(
            "webhook", False, f"Telegram's last delivery failed: {info.last_error_message}"
        )
    return Check("webhook", True, f"set, {info.pending_update_count} updates waiting")


async def _database(settings: Settings) -> tuple[Check, Check]:
    engine = db.create_engine(settings.database_url)
    try:
        try:
            await db.ensure_schema_current(engine)
        except db.SchemaOutOfDate as exc:
            return Check("database", False, str(exc)), Check("clock", True, "not checked")
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                theirs = (await connection.execute(text("SELECT now()"))).scalar_one()
            else:
                theirs = None
    except Exception as exc:
        return (
            Check("database", False, f"cannot reach the database: {type(exc).__name__}"),
            Check("clock", True, "not checked"),
        )
    finally:
        await engine.dispose()
    mine = datetime.now(UTC)
    if mine.year < 2025:
        clock = Check("clock", False, f"this machine thinks it is {mine:%Y-%m-%d}")
    elif theirs is not None and abs((mine - theirs).total_seconds()) > CLOCK_TOLERANCE:
        clock = Check("clock", False, "this machine and the database disagree on the time")
    else:
        clock = Check("clock", True, f"{mine:%Y-%m-%d %H:%M} UTC")
    return Check("database", True, f"reachable, at revision {db.head_revision()}"), clock


def _recipients(settings: Settings) -> Check:
    try:
        keys = load_recipients(settings.recipients)
    except CryptoError as exc:
        return Check("recipients", False, str(exc))
    return Check("recipients", True, f"{len(keys)} reviewer key(s) in {settings.recipients}")


def _server_key(settings: Settings) -> Check:
    path = settings.secret_key_file
    try:
        ServerKey.load(path)
    except CryptoError as exc:
        return Check("server key", False, str(exc))
    mode = stat.S_IMODE(path.stat().st_mode)
    return Check("server key", True, f"{path}, mode {mode:o}")


def _organisation(settings: Settings) -> Check:
    try:
        name = settings.require_organisation()
    except SettingsError as exc:
        return Check("organisation", False, str(exc))
    return Check("organisation", True, f"relatives are told the bot is run by {name}")


async def run_checks(
    settings: Settings, *, request: BaseRequest | None = None, webhook_url: str | None = None
) -> list[Check]:
    """Every check, in the order a volunteer would fix them."""
    database, clock = await _database(settings)
    return [
        await _token(settings, request),
        _organisation(settings),
        database,
        _recipients(settings),
        _server_key(settings),
        await _webhook(settings, request, webhook_url),
        clock,
    ]
