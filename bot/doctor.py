"""`aigaq doctor`: one line per thing a volunteer can get wrong, and whether it is right."""

from __future__ import annotations

import base64
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import BaseRequest

from bot import db
from bot.crypto import CryptoError, ServerKey
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.roster import RosterError, check_version, parse_roster, read_roster
from bot.roster_copy import RosterCopy
from bot.services.disk import free_space, uses_postgres
from bot.services.team import mismatches
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


async def _roster(settings: Settings) -> Check:
    """The roster verifies against the pinned roster key, is not older than one seen, and
    the database's recipients rows and stored rosters agree with it; the roster key is not
    on this server. Only checks: the seen file is the bot's to write, not doctor's (which
    may run as another user)."""
    try:
        pinned = settings.require_roster_key()
        roster = read_roster(settings.roster, pinned)
        check_version(roster, settings.roster_seen(), remember=False)
    except (CryptoError, SettingsError) as exc:
        return Check("roster", False, str(exc))
    near = {settings.secret_key_file.parent, settings.roster.parent}
    found = [path for folder in near for path in _signing_keys_in(folder, roster.signed_by)]
    if found:
        return Check(
            "roster",
            False,
            f"the roster key itself is on this server ({found[0]}): keep it on an admin's "
            "laptop only and delete it here",
        )
    try:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.make_sessionmaker(engine)() as session:
                wrong = await mismatches(session, roster)
                foreign = await _foreign_rosters(session, pinned)
        finally:
            await engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        return Check("roster", False, f"the database cannot be read ({type(exc).__name__})")
    problems = []
    if wrong:
        named = "; ".join(f"{w.key_id} ({w.label or 'no label'}): {w.reason}" for w in wrong)
        problems.append(
            f"the database's recipients rows disagree with the roster: {named}. Nothing is "
            "sealed to them; someone changed the database, or the bot has not started since"
        )
    if foreign:
        problems.append(
            f"the database's rosters table holds version(s) {', '.join(map(str, foreign))} "
            "not signed by the pinned roster key: someone who can write to the database put "
            "them there for reviewer tools to pin at first use. Delete those rows and find "
            "out who"
        )
    if problems:
        return Check("roster", False, ". ".join(problems))
    return Check(
        "roster",
        True,
        f"version {roster.version}, {len(roster.keys)} reviewer key(s), signed by roster key "
        f"{roster.signed_by[:16]}…",
    )


async def _foreign_rosters(session: AsyncSession, pinned: str) -> list[int]:
    """The versions of stored rosters that do not verify against the pinned roster key."""
    foreign = []
    for copy in await session.scalars(select(RosterCopy).order_by(RosterCopy.version)):
        try:
            parse_roster(copy.document, pinned)
        except RosterError:
            foreign.append(copy.version)
    return foreign


def _signing_keys_in(folder: Path, fingerprint: str) -> list[Path]:
    """Files in `folder` that hold the Ed25519 private key with this public fingerprint."""
    found = []
    for path in folder.iterdir() if folder.is_dir() else ():
        try:
            if not path.is_file() or path.stat().st_size > 200:
                continue
            seed = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
            key = Ed25519PrivateKey.from_private_bytes(seed)
        except (OSError, ValueError):
            continue
        if signer_fingerprint(key.public_key()) == fingerprint:
            found.append(path)
    return found


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


def _disk(settings: Settings) -> Check:
    """Free space where the bot writes, against AIGAQ_MIN_FREE_DISK_MB."""
    minimum = settings.min_free_disk_mb
    disks = free_space(settings)
    elsewhere = (
        " (PostgreSQL's own disk is on its host: check it there)" if uses_postgres(settings) else ""
    )
    low = [disk for disk in disks if minimum and disk.free_mb < minimum]
    if low:
        named = "; ".join(f"{disk.free_mb} MB free on the disk of {disk.folder}" for disk in low)
        return Check(
            "disk",
            False,
            f"{named}: less than AIGAQ_MIN_FREE_DISK_MB={minimum}. Relatives' answers and "
            f"files stop being saved when it is full: free space or move to a larger disk"
            f"{elsewhere}",
        )
    shown = ", ".join(f"{disk.free_mb} MB free on the disk of {disk.folder}" for disk in disks)
    return Check("disk", True, f"{shown or 'not measured'}{elsewhere}")


async def run_checks(
    settings: Settings, *, request: BaseRequest | None = None, webhook_url: str | None = None
) -> list[Check]:
    """Every check, in the order a volunteer would fix them."""
    database, clock = await _database(settings)
    return [
        await _token(settings, request),
        _organisation(settings),
        database,
        await _roster(settings),
        _server_key(settings),
        _disk(settings),
        await _webhook(settings, request, webhook_url),
        clock,
    ]
