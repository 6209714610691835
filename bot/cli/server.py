"""Commands for whoever runs the server: the bot, its database, its key, checks and backups."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from bot import db
from bot.cli.shell import Backend, fail, run, settings_or_exit
from bot.crypto import CryptoError, ServerKey
from bot.crypto.roster import read_roster
from bot.logs import configure_logging
from bot.services.rotation import Rotated
from bot.settings import Settings, SettingsError


def run_bot(
    webhook: Annotated[
        str | None,
        typer.Option(help="Serve a webhook at this public HTTPS URL instead of long polling."),
    ] = None,
    migrate: Annotated[bool, typer.Option(help="Upgrade the database first.")] = True,
) -> None:
    """Run the bot (long polling by default)."""
    from bot.app import build_application

    settings = settings_or_exit()
    try:
        settings.require_token()
        settings.require_organisation()
    except SettingsError as exc:
        fail(str(exc))
    if webhook and settings.webhook_secret is None:
        fail("AIGAQ_WEBHOOK_SECRET must be set in webhook mode (1-256 of A-Z a-z 0-9 _ -).")
    if not settings.secret_key_file.exists():
        ServerKey.generate_file(settings.secret_key_file)
        typer.echo(f"aigaq: created the server key {settings.secret_key_file} (keep it secret)")
    configure_logging()
    if migrate:
        asyncio.run(db.upgrade(settings.database_url))
    else:
        try:
            asyncio.run(_check_schema(settings.database_url))
        except db.SchemaOutOfDate as exc:
            fail(str(exc))
    try:
        application = build_application(settings)
    except CryptoError as exc:
        fail(str(exc))
    if webhook:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            # Served at the URL's own path, so a proxy can pass the path through unchanged.
            url_path=urlsplit(webhook).path.strip("/"),
            webhook_url=webhook,
            secret_token=secret,
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
    else:
        application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])


async def _check_schema(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.ensure_schema_current(engine)
    finally:
        await engine.dispose()


async def _revision(url: str) -> str | None:
    engine = db.create_engine(url)
    try:
        return await db.current_revision(engine)
    finally:
        await engine.dispose()


def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database to the newest schema."""
    settings = settings_or_exit()
    asyncio.run(db.upgrade(settings.database_url, revision))
    typer.echo(f"database at {revision}")


def db_current() -> None:
    """Show the database's revision and the code's."""
    current = asyncio.run(_revision(settings_or_exit().database_url))
    head = db.head_revision()
    typer.echo(f"database: {current or 'empty'}; code: {head}")
    if current != head:
        raise typer.Exit(1)


def keys_server(
    out: Annotated[
        Path | None, typer.Option(help="Default: AIGAQ_SECRET_KEY_FILE (var/server.key).")
    ] = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the key and rewrite what it protects.")
    ] = False,
    drop_old: Annotated[
        bool,
        typer.Option(
            "--drop-old", help="Remove the keys a rotation replaced, once none is needed."
        ),
    ] = False,
    forget_unmoved: Annotated[
        bool,
        typer.Option(
            "--forget-unmoved",
            help="With --drop-old: delete relatives' accounts unused since the rotation.",
        ),
    ] = False,
) -> None:
    """Make the server key that encrypts drafts and pseudonymises accounts."""
    if rotate and drop_old:
        fail("rotate first; drop the old key once the rotation has done its work")
    if rotate:
        _rotate_server_key()
        return
    if drop_old:
        _drop_old_server_keys(forget_unmoved=forget_unmoved)
        return
    if forget_unmoved:
        fail("--forget-unmoved goes with --drop-old")
    path = out or settings_or_exit().secret_key_file
    if path.exists():
        fail(f"{path} exists already; a new key would orphan every draft and account")
    try:
        ServerKey.generate_file(path)
    except (CryptoError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"server key written to {path} (mode 0600)")


def _rotate_server_key() -> None:
    settings = settings_or_exit()
    done = run(_rotate)
    typer.echo(
        f"server key rotated ({settings.secret_key_file}): {done.drafts} drafts, "
        f"{done.accounts} accounts, {done.chat_refs} chat ids, {done.messages} outbox messages "
        f"rewritten; {done.unmoved} accounts move when they next write. The old key stays "
        "behind the new one until `aigaq keys server --drop-old`. Restart the bot."
    )


async def _rotate(backend: Backend) -> Rotated:
    from bot.services.rotation import rotate

    new = backend.server_key.rotated()
    path = backend.settings.secret_key_file
    return await rotate(backend.sessionmaker, backend.server_key, new, lambda k: k.save(path))


def _drop_old_server_keys(*, forget_unmoved: bool) -> None:
    from bot.services.rotation import OldKeyNeeded, drop_old

    settings = settings_or_exit()

    def explain(exc: Exception) -> str:
        advice = " (add --forget-unmoved to delete them)" if "relatives'" in str(exc) else ""
        return f"the old server key is still needed by {exc}{advice}; nothing was dropped"

    dropped = run(
        lambda backend: drop_old(
            backend.sessionmaker,
            backend.server_key,
            lambda key: key.save(settings.secret_key_file),
            forget_unmoved=forget_unmoved,
        ),
        errors=(OldKeyNeeded,),
        explain=explain,
    )
    typer.echo(
        f"{dropped} old server keys removed from {settings.secret_key_file}; it holds the "
        "current one alone. Restart the bot."
        if dropped
        else f"{settings.secret_key_file} holds one key: nothing to drop"
    )


def keys_inbox() -> None:
    """Print the fingerprint of the bot's delivery signing key, for reviewers to pin."""
    from bot.crypto.delivery import DeliveryKeyring

    _print_fingerprint(
        "delivery",
        lambda settings: DeliveryKeyring(settings.delivery_folder()).fingerprint,
        "It certifies the bot's weekly delivery keys (questions and notices to relatives are "
        "sealed to them).",
        "AIGAQ_INBOX_FINGERPRINT",
    )


def keys_intake(
    rebind_receipts: Annotated[
        bool,
        typer.Option(
            "--rebind-receipts",
            help="After the intake key was replaced: sign every receipt hash with the new key.",
        ),
    ] = False,
) -> None:
    """Print the fingerprint of the bot's intake signing key, for reviewers to pin."""
    from bot.crypto.intake import IntakeSigner
    from bot.services.receipts import rebind_all

    if rebind_receipts:
        count = run(
            lambda backend: rebind_all(
                backend.sessionmaker, IntakeSigner(backend.settings.intake_key())
            )
        )
        typer.echo(f"{count} receipt codes bound to their cases with the current intake key")
        return
    _print_fingerprint(
        "intake",
        lambda settings: IntakeSigner(settings.intake_key()).fingerprint,
        "It signs the manifest of every case submitted (the sealed answers and files it is "
        "made of).",
        "AIGAQ_INTAKE_FINGERPRINT",
    )


def _print_fingerprint(
    what: str, fingerprint_of: Callable[[Settings], str], use: str, setting: str
) -> None:
    """One of the bot's signing keys (made on first use), as reviewers pin it."""
    settings = settings_or_exit()
    try:
        fingerprint = fingerprint_of(settings)
    except (CryptoError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"{what} signing key fingerprint: {fingerprint}")
    typer.echo(
        f"{use} Give it to each reviewer by a channel you trust; they set "
        f"{setting}={fingerprint} on their own machine."
    )


def doctor(
    webhook: Annotated[str | None, typer.Option(help="The webhook URL, if you use one.")] = None,
) -> None:
    """Check what a volunteer can get wrong; one line each; exit 1 if any fails."""
    from bot.doctor import run_checks

    checks = asyncio.run(run_checks(settings_or_exit(), webhook_url=webhook))
    for check in checks:
        typer.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name:<11} {check.detail}")
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def keys_backup() -> None:
    """Print the fingerprint of the bot's backup signing key, for the roster or reviewers."""
    from bot.crypto.backup_signer import BackupSigner

    settings = settings_or_exit()
    try:
        fingerprint = BackupSigner(settings.backup_key()).fingerprint
    except (CryptoError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"backup signing key fingerprint: {fingerprint}")
    typer.echo(
        "It signs every file `aigaq backup` writes; `aigaq restore` refuses any other. Put it "
        f"in the roster (`aigaq keys roster sign --backup {fingerprint}`), or give it to each "
        f"reviewer who restores by a channel you trust (`aigaq restore --signer {fingerprint}`)."
    )


def backup_command(
    out: Annotated[Path, typer.Option(help="The backup file to write.")],
) -> None:
    """Back up the database, sealed to the reviewers of the verified roster and signed with
    the bot's backup key."""
    from bot.backup import BackupError, backup
    from bot.crypto.backup_signer import BackupSigner

    settings = settings_or_exit()
    try:
        roster = read_roster(settings.roster, settings.require_roster_key())
        signer = BackupSigner(settings.backup_key())
        size = backup(settings.database_url, out, roster.keys, signer)
    except (BackupError, CryptoError, OSError, SettingsError) as exc:
        fail(str(exc))
    typer.echo(f"{out}: {size} bytes of database, sealed and signed by {signer.fingerprint}")
    if roster.signers.get("backup") != signer.fingerprint:
        typer.echo(
            "aigaq: the roster does not name this backup key, so a restore needs --signer: "
            f"sign the next roster with --backup {signer.fingerprint}",
            err=True,
        )
