"""The `aigaq` command: run the bot, migrate the database, make keys."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

import typer

from bot import db
from bot.crypto import (
    SUITE_MLKEM768_X25519,
    SUITE_X25519,
    CryptoError,
    RecipientPublicKey,
    ServerKey,
    load_recipients,
)
from bot.crypto.keys import SUITE_NAMES
from bot.logs import configure_logging
from bot.models import CaseStatus, Role
from bot.reviewing.cases import GRADES, OpenedCase, QueueItem, Reviewer, ReviewError
from bot.reviewing.export import ExportError, Report, export, verify_bundle
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.rewrap import rewrap
from bot.reviewing.un import Readiness
from bot.services.audit import ChainReport, verify_chain
from bot.services.broadcasts import Broadcasts, parse_when
from bot.services.recipients import RecipientInfo, Recipients, UnknownKey
from bot.services.roles import CLI, Roles, TeamMember
from bot.services.rotation import Rotated
from bot.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="Aigaq: sealed testimony over Telegram.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Reviewer keys and the server key.", no_args_is_help=True)
review_app = typer.Typer(
    help="Read and decide cases, on the reviewer's machine.", no_args_is_help=True
)
export_app = typer.Typer(
    help="Export cases for partners, or check a bundle.", invoke_without_command=True
)
roles_app = typer.Typer(help="Reviewer and admin roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(roles_app, name="roles")
app.add_typer(review_app, name="review")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear message to stderr and exit; no traceback."""
    typer.echo(f"aigaq: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


@app.command()
def run(
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


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database to the newest schema."""
    settings = settings_or_exit()
    asyncio.run(db.upgrade(settings.database_url, revision))
    typer.echo(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the code's."""
    settings = settings_or_exit()

    async def show() -> str | None:
        engine = db.create_engine(settings.database_url)
        try:
            return await db.current_revision(engine)
        finally:
            await engine.dispose()

    current = asyncio.run(show())
    head = db.head_revision()
    typer.echo(f"database: {current or 'empty'}; code: {head}")
    if current != head:
        raise typer.Exit(1)


def read_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            fail(f"cannot read the passphrase file {passphrase_file}: {exc.strerror}")
    else:
        if not sys.stdin.isatty():
            fail("no terminal to ask for a passphrase: give --passphrase-file")
        text = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    if len(text) < 12:
        fail("the passphrase must have at least 12 characters")
    return text


@keys_app.command("generate")
def keys_generate(
    out: Annotated[Path, typer.Option(help="Where to write the private key file.")],
    passphrase_file: Annotated[
        Path | None, typer.Option(help="Read the passphrase from this file, not a prompt.")
    ] = None,
    label: Annotated[str, typer.Option(help="A name for this key, shown to admins.")] = "",
    x25519: Annotated[
        bool, typer.Option("--x25519", help="Classic X25519 only (default: ML-KEM-768+X25519).")
    ] = False,
) -> None:
    """Make a reviewer's key pair; print the line to add to the recipients file."""
    if out.exists():
        fail(f"{out} exists already; choose another --out")
    passphrase = read_passphrase(passphrase_file, confirm=True)
    key = ReviewerKey.generate(SUITE_X25519 if x25519 else SUITE_MLKEM768_X25519)
    try:
        key.save(out, passphrase)
    except (CryptoError, OSError) as exc:
        fail(str(exc))
    public = key.public()
    if label:
        public = type(public)(suite=public.suite, public_bytes=public.public_bytes, label=label)
    typer.echo(f"private key written to {out} (keep it on this machine only)", err=True)
    typer.echo(
        f"your export-signing key (give it to partners): {key.signing_public_hex()}", err=True
    )
    typer.echo("add this line to the bot's recipients file:", err=True)
    typer.echo(public.to_line())


@keys_app.command("server")
def keys_server(
    out: Annotated[
        Path | None, typer.Option(help="Default: AIGAQ_SECRET_KEY_FILE (var/server.key).")
    ] = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the key and rewrite what it protects.")
    ] = False,
) -> None:
    """Make the server key that encrypts drafts and pseudonymises accounts."""
    if rotate:
        _rotate_server_key()
        return
    path = out or settings_or_exit().secret_key_file
    if path.exists():
        fail(f"{path} exists already; a new key would orphan every draft and account")
    try:
        ServerKey.generate_file(path)
    except (CryptoError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"server key written to {path} (mode 0600)")


@keys_app.command("inbox")
def keys_inbox() -> None:
    """Print the fingerprint of the bot's inbox key, for reviewers to pin."""
    settings = settings_or_exit()
    try:
        server_key = ServerKey.load(settings.secret_key_file)
    except CryptoError as exc:
        fail(str(exc))
    fingerprint = server_key.inbox().public().fingerprint
    typer.echo(f"inbox key fingerprint: {fingerprint}")
    typer.echo(
        "Give it to each reviewer by a channel you trust; they set "
        f"AIGAQ_INBOX_FINGERPRINT={fingerprint} on their own machine."
    )


class _Backend:
    """The database and server key, for commands that run beside the bot."""

    def __init__(self, settings: Settings) -> None:
        from bot.services.accounts import Accounts

        try:
            self.server_key = ServerKey.load(settings.secret_key_file)
        except CryptoError as exc:
            fail(str(exc))
        self.settings = settings
        self.engine = db.create_engine(settings.database_url)
        self.sessionmaker = db.make_sessionmaker(self.engine)
        self.accounts = Accounts(self.sessionmaker, self.server_key)

    async def __aenter__(self) -> _Backend:
        try:
            await db.ensure_schema_current(self.engine)
        except db.SchemaOutOfDate as exc:
            await self.engine.dispose()
            fail(str(exc))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.engine.dispose()


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        fail("the role is reviewer or admin")


@roles_app.command("grant")
def roles_grant(
    role: Annotated[str, typer.Argument(help="reviewer or admin")],
    telegram_id: Annotated[int, typer.Argument(help="the person's Telegram user id")],
) -> None:
    """Give someone a role."""
    wanted = _role(role)
    if wanted == Role.RELATIVE:
        fail("to take a role away, use `aigaq roles revoke`")

    async def go() -> Role:
        async with _Backend(settings_or_exit()) as backend:
            roles = Roles(backend.sessionmaker, backend.server_key, backend.accounts)
            return await roles.grant(CLI, telegram_id, wanted)

    before = asyncio.run(go())
    typer.echo(f"{telegram_id}: {before.value} -> {wanted.value}")


@roles_app.command("revoke")
def roles_revoke(telegram_id: Annotated[int, typer.Argument()]) -> None:
    """Take someone's role away (she stays a relative)."""

    async def go() -> Role:
        async with _Backend(settings_or_exit()) as backend:
            roles = Roles(backend.sessionmaker, backend.server_key, backend.accounts)
            return await roles.revoke(CLI, telegram_id)

    before = asyncio.run(go())
    typer.echo(f"{telegram_id}: {before.value} -> relative")


@roles_app.command("list")
def roles_list() -> None:
    """Reviewers and admins."""

    async def go() -> list[TeamMember]:
        async with _Backend(settings_or_exit()) as backend:
            roles = Roles(backend.sessionmaker, backend.server_key, backend.accounts)
            return await roles.team()

    for member in asyncio.run(go()):
        typer.echo(f"{member.role.value:<9} {member.telegram_id or '?'}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; name the first broken row."""

    async def go() -> ChainReport:
        async with _Backend(settings_or_exit()) as backend, backend.sessionmaker() as session:
            return await verify_chain(session)

    report = asyncio.run(go())
    if report.first_broken is not None:
        typer.echo(f"audit log broken at row {report.first_broken}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {report.rows} rows")


@app.command()
def broadcast(
    kk: Annotated[str | None, typer.Option(help="The text in Kazakh.")] = None,
    ru: Annotated[str | None, typer.Option(help="The text in Russian.")] = None,
    en: Annotated[str | None, typer.Option(help="The text in English.")] = None,
    at: Annotated[
        str | None, typer.Option(help="Send at this Almaty time, e.g. '2026-11-25 18:00'.")
    ] = None,
) -> None:
    """Queue a protest update; the running bot sends it."""
    texts = {code: text for code, text in (("kk", kk), ("ru", ru), ("en", en)) if text}
    if not texts:
        fail("give the text in at least one language: --kk, --ru or --en")
    when = parse_when(at) if at else None
    if at and when is None:
        fail("write the time like '2026-11-25 18:00' (Almaty time)")

    async def go() -> tuple[int, int]:
        async with _Backend(settings_or_exit()) as backend:
            broadcasts = Broadcasts(backend.sessionmaker, backend.server_key)
            number = await broadcasts.create(
                actor=CLI, created_by=None, texts=texts, scheduled_at=when
            )
            figures = await broadcasts.figures(number)
            return number, figures.total if figures else 0

    number, total = asyncio.run(go())
    typer.echo(f"broadcast #{number} queued for {total} subscribers")


def _reviewer_key(path: Path, passphrase_file: Path | None) -> ReviewerKey:
    passphrase = read_passphrase(passphrase_file, confirm=False)
    try:
        return ReviewerKey.load(path, passphrase)
    except CryptoError as exc:
        fail(str(exc))


def _rotate_server_key() -> None:
    from bot.services.rotation import rotate

    settings = settings_or_exit()

    async def go() -> tuple[Rotated, ServerKey]:
        async with _Backend(settings) as backend:
            new = backend.server_key.rotated()
            done = await rotate(backend.sessionmaker, backend.server_key, new)
            return done, new

    done, new = asyncio.run(go())
    new.save(settings.secret_key_file)
    typer.echo(
        f"server key rotated ({settings.secret_key_file}): {done.drafts} drafts, "
        f"{done.accounts} accounts, {done.chat_refs} chat ids rewritten; the old key stays "
        "behind the new one in the file. Restart the bot."
    )


@keys_app.command("add")
def keys_add(
    public: Annotated[Path, typer.Argument(help="A file holding the aigaq-pub-v1 line.")],
    label: Annotated[str, typer.Option(help="Who holds it.")] = "",
) -> None:
    """Add a reviewer's public key; new cases are sealed to it from now on."""
    try:
        line = next(
            x
            for x in public.read_text(encoding="utf-8").splitlines()
            if x.startswith("aigaq-pub-v1")
        )
        key = RecipientPublicKey.from_line(line)
    except (OSError, StopIteration):
        fail(f"{public} holds no aigaq-pub-v1 line")
    except CryptoError as exc:
        fail(str(exc))
    if label:
        key = RecipientPublicKey(suite=key.suite, public_bytes=key.public_bytes, label=label)

    async def go() -> bool:
        async with _Backend(settings_or_exit()) as backend:
            return await Recipients(backend.sessionmaker).add(key, actor=CLI)

    new = asyncio.run(go())
    typer.echo(f"{key.key_id} {'added' if new else 'active again'}")


@keys_app.command("list")
def keys_list() -> None:
    """Reviewer keys: id, label, suite, added, cases sealed to it."""

    async def go() -> list[RecipientInfo]:
        async with _Backend(settings_or_exit()) as backend:
            return await Recipients(backend.sessionmaker).listing()

    for item in asyncio.run(go()):
        state = "active " if item.active else "retired"
        suite = SUITE_NAMES.get(item.suite, str(item.suite))
        typer.echo(
            f"{item.key_id}  {state}  {suite:<15} {item.added_at:%Y-%m-%d}  "
            f"{item.cases:>6} cases  {item.label}"
        )


@keys_app.command("retire")
def keys_retire(key_id: Annotated[str, typer.Argument()]) -> None:
    """Stop sealing new cases to a key (the running bot notices at once)."""

    async def go() -> None:
        async with _Backend(settings_or_exit()) as backend:
            await Recipients(backend.sessionmaker).retire(key_id, actor=CLI)

    try:
        asyncio.run(go())
    except UnknownKey:
        fail(f"no reviewer key {key_id}; see `aigaq keys list`")
    typer.echo(f"{key_id} retired; also remove its line from the recipients file")


@keys_app.command("rewrap")
def keys_rewrap(
    key: Annotated[Path, typer.Option(help="Your private key file.")],
    to: Annotated[str, typer.Option(help="The key id of the new reviewer.")],
    passphrase_file: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Let another reviewer open every case you can open (nothing is re-encrypted)."""
    reviewer = _reviewer_key(key, passphrase_file)

    async def go() -> int:
        async with _Backend(settings_or_exit()) as backend:
            with typer.progressbar(length=1, label="re-wrapping") as bar:
                seen = 0

                def progress(done: int, total: int) -> None:
                    nonlocal seen
                    bar.length = max(total, 1)
                    bar.update(done - seen)
                    seen = done

                return await rewrap(
                    backend.sessionmaker, reviewer, to, actor=CLI, progress=progress
                )

    try:
        count = asyncio.run(go())
    except UnknownKey as exc:
        fail(f"no reviewer key {exc}; see `aigaq keys list`")
    typer.echo(f"{count} data keys wrapped for {to}")


@app.command()
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


@app.command("try")
def try_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8080,
    keep: Annotated[
        Path | None, typer.Option(help="Keep the database and demo keys in this folder.")
    ] = None,
) -> None:
    """Try the real bot without Telegram: a chat page on this computer, nothing sent."""
    from bot.trial import serve

    typer.echo(
        f"local trial: open http://127.0.0.1:{port}/ (nothing reaches Telegram; "
        f"{'kept in ' + str(keep) if keep else 'everything is deleted when it stops'})"
    )
    try:
        asyncio.run(serve(port, keep))
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option(help="The backup file to write.")],
) -> None:
    """Back up the database, sealed to the reviewers' keys."""
    from bot.backup import BackupError, backup

    settings = settings_or_exit()
    try:
        size = backup(settings.database_url, out, load_recipients(settings.recipients))
    except (BackupError, CryptoError) as exc:
        fail(str(exc))
    typer.echo(f"{out}: {size} bytes of database, sealed")


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="A file made by `aigaq backup`.")],
    key: Annotated[Path, typer.Option(help="A reviewer's private key file.")],
    passphrase_file: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Restore a backup into AIGAQ_DATABASE_URL (replacing what is there)."""
    from bot.backup import BackupError, restore

    settings = settings_or_exit()
    reviewer = _reviewer_key(key, passphrase_file)
    try:
        backend = restore(settings.database_url, source, reviewer)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(f"restored a {backend} backup; run `aigaq db upgrade` if the code is newer")


KeyOption = Annotated[
    Path, typer.Option("--key", envvar="AIGAQ_REVIEWER_KEY", help="Your private key file.")
]
PassOption = Annotated[Path | None, typer.Option(help="Read the passphrase from this file.")]


def _reviewer(backend: _Backend, key: Path, passphrase_file: Path | None) -> Reviewer:
    return Reviewer(
        backend.sessionmaker,
        _reviewer_key(key, passphrase_file),
        inbox_fingerprint=backend.settings.inbox_fingerprint,
    )


@review_app.command("list")
def review_list(
    key: KeyOption,
    status: Annotated[str | None, typer.Option(help="received, in_review, verified, …")] = None,
    wgeid: Annotated[bool, typer.Option("--wgeid", help="Only cases ready for the UN.")] = False,
    passphrase_file: PassOption = None,
) -> None:
    """The queue: code, date, language, people, files, status, grade, duplicate flag."""
    wanted = _status(status) if status else None

    async def go() -> list[QueueItem]:
        async with _Backend(settings_or_exit()) as backend:
            reviewer = _reviewer(backend, key, passphrase_file)
            items = await reviewer.queue(wanted)
            if wgeid:
                ready = await reviewer.followups.ready_for_wgeid()
                items = [item for item in items if item.code in ready]
            return items

    for item in asyncio.run(go()):
        flag = ("  URGENT" if item.urgent else "") + ("  duplicate?" if item.duplicate else "")
        typer.echo(
            f"{item.code}  {item.created_at:%Y-%m-%d}  {item.locale}  "
            f"people={item.detainees} files={item.attachments}  "
            f"{item.status.value:<10} {item.grade}{flag}"
        )


def _status(name: str) -> CaseStatus:
    try:
        return CaseStatus(name)
    except ValueError:
        fail("the status is one of " + ", ".join(s.value for s in CaseStatus))


@review_app.command("show")
def review_show(code: str, key: KeyOption, passphrase_file: PassOption = None) -> None:
    """A case in the testimony's own words (JSON), with the team's notes."""

    async def go() -> tuple[OpenedCase, list[Readiness]]:
        async with _Backend(settings_or_exit()) as backend:
            reviewer = _reviewer(backend, key, passphrase_file)
            opened = await reviewer.show(code)
            items, _answers = await reviewer.followups.readiness(code)
            return opened, items

    try:
        case, wgeid = asyncio.run(go())
    except ReviewError as exc:
        fail(str(exc))
    typer.echo(
        json.dumps(
            {
                "code": case.code,
                "status": case.status.value,
                "grade": case.grade,
                "duplicate_of": case.duplicate_of,
                "case": case.payload,
                "notes": case.notes,
                "wgeid": [
                    {"person": r.person, "ready": r.ready, "elements": r.elements} for r in wgeid
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
    )


@review_app.command("set")
def review_set(
    code: str,
    status: Annotated[str, typer.Argument(help="in_review, verified, needs_info, rejected")],
    key: KeyOption,
    grade: Annotated[str | None, typer.Option(help=", ".join(GRADES))] = None,
    note: Annotated[str, typer.Option(help="What backs the decision (sealed).")] = "",
    passphrase_file: PassOption = None,
) -> None:
    """Decide a case; the relative is told if she agreed to contact."""
    wanted = _status(status)

    async def go() -> None:
        async with _Backend(settings_or_exit()) as backend:
            await _reviewer(backend, key, passphrase_file).decisions.set_status(
                code, wanted, grade=grade, note=note
            )

    try:
        asyncio.run(go())
    except ReviewError as exc:
        fail(str(exc))
    typer.echo(f"{code.upper()}: {wanted.value}")


@review_app.command("serve")
def review_serve(
    key: KeyOption,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    idle_minutes: Annotated[float, typer.Option(help="Lock again after this long idle.")] = 15,
) -> None:
    """The review console in your browser, on this computer only (127.0.0.1)."""
    import uvicorn

    from bot.reviewing.console.app import create_app

    if not key.exists():
        fail(f"the key file {key} does not exist")
    settings = settings_or_exit()
    engine = db.create_engine(settings.database_url)
    console = create_app(
        db.make_sessionmaker(engine),
        key,
        idle_minutes=idle_minutes,
        inbox_fingerprint=settings.inbox_fingerprint,
    )
    typer.echo(f"open http://127.0.0.1:{port}/ and unlock with your passphrase (Ctrl+C stops)")
    uvicorn.run(console, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@review_app.command("ask")
def review_ask(
    code: str, question: str, key: KeyOption, passphrase_file: PassOption = None
) -> None:
    """Ask the relative a follow-up question (only if she agreed); the bot delivers it."""

    async def go() -> None:
        async with _Backend(settings_or_exit()) as backend:
            await _reviewer(backend, key, passphrase_file).followups.ask(code, question)

    try:
        asyncio.run(go())
    except ReviewError as exc:
        fail(str(exc))
    typer.echo(f"{code.upper()}: question queued; the case is now needs_info")


@review_app.command("ask-missing")
def review_ask_missing(
    code: str,
    key: KeyOption,
    person: Annotated[int, typer.Option(help="Which detained person (1, 2, ...).")] = 1,
    passphrase_file: PassOption = None,
) -> None:
    """Ask her, in her language, for the UN elements this person still lacks."""

    async def go() -> list[str]:
        async with _Backend(settings_or_exit()) as backend:
            return await _reviewer(backend, key, passphrase_file).followups.ask_missing(
                code, person
            )

    try:
        missing = asyncio.run(go())
    except ReviewError as exc:
        fail(str(exc))
    typer.echo(
        f"{code.upper()}: asked for {', '.join(missing)}"
        if missing
        else f"{code.upper()}: person {person} has all six elements"
    )


@review_app.command("duplicates")
def review_duplicates(key: KeyOption, passphrase_file: PassOption = None) -> None:
    """Pairs of cases that may be about the same person."""

    async def go() -> list[tuple[str, str, str]]:
        async with _Backend(settings_or_exit()) as backend:
            return await _reviewer(backend, key, passphrase_file).duplicates.find()

    for first, second, why in asyncio.run(go()):
        typer.echo(f"{first}  {second}  {why}")


@review_app.command("link")
def review_link(
    code: str,
    of: Annotated[str, typer.Option("--duplicate-of", help="The case it repeats.")],
    key: KeyOption,
    passphrase_file: PassOption = None,
) -> None:
    """Mark a case as a duplicate of another (both testimonies are kept)."""

    async def go() -> None:
        async with _Backend(settings_or_exit()) as backend:
            await _reviewer(backend, key, passphrase_file).decisions.link(code, of)

    try:
        asyncio.run(go())
    except ReviewError as exc:
        fail(str(exc))
    typer.echo(f"{code.upper()} duplicates {of.upper()}")


@export_app.callback()
def export_cases(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(help="The file to write.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or bundle")] = "csv",
    key: Annotated[Path | None, typer.Option(envvar="AIGAQ_REVIEWER_KEY")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Default: verified.")] = None,
    grade: Annotated[list[str] | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    internal: Annotated[
        bool, typer.Option(help="Include cases consented only for the team.")
    ] = False,
    case: Annotated[str | None, typer.Option("--case", help="wgeid: the case code.")] = None,
    person: Annotated[int, typer.Option(help="wgeid: which detained person.")] = 1,
    summary_file: Annotated[
        Path | None, typer.Option(help="wgeid: the narrative summary you translated.")
    ] = None,
    passphrase_file: PassOption = None,
) -> None:
    """Export cases (verified by default) as CSV, JSON Lines or a signed bundle; or, with
    --format wgeid --case CODE, draft a UN Working Group submission (.odt) for one person."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None or key is None:
        fail("give --out FILE and --key YOUR.key")
    if fmt == "wgeid":
        if case is None:
            fail("--format wgeid needs --case CODE")
        _wgeid_draft(out, key, passphrase_file, case, person, summary_file)
        return
    statuses = tuple(_status(s) for s in (status or ["verified"]))
    try:
        start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None
    except ValueError:
        fail("write --since as YYYY-MM-DD")

    async def go() -> Report:
        async with _Backend(settings_or_exit()) as backend:
            reviewer = _reviewer(backend, key, passphrase_file)
            with typer.progressbar(length=0, label="exporting", show_pos=True) as bar:
                return await export(
                    reviewer,
                    out,
                    fmt,
                    statuses=statuses,
                    grades=tuple(grade or ()),
                    since=start,
                    internal=internal,
                    progress=lambda n: bar.update(1),
                )

    try:
        report = asyncio.run(go())
    except ExportError as exc:
        fail(str(exc))
    typer.echo(
        f"{report.exported} cases exported to {out}"
        + (f", {report.files} files" if fmt == "bundle" else "")
    )
    if report.excluded_by_consent:
        typer.echo(
            f"{report.excluded_by_consent} left out: consented only for the team "
            f"(use --internal for a team export): {', '.join(report.excluded_codes)}"
        )
    if report.unreadable:
        typer.echo(f"{report.unreadable} could not be opened with this key (not a recipient)")


def _wgeid_draft(
    out: Path,
    key: Path,
    passphrase_file: Path | None,
    code: str,
    person: int,
    summary_file: Path | None,
) -> None:
    from bot.reviewing.un import write_draft
    from bot.services import audit

    summary = summary_file.read_text(encoding="utf-8") if summary_file else ""

    async def go() -> None:
        async with _Backend(settings_or_exit()) as backend:
            reviewer = _reviewer(backend, key, passphrase_file)
            opened = await reviewer.show(code)
            received = datetime.fromisoformat(str(opened.payload.get("submitted_at")))
            _items, answers = await reviewer.followups.readiness(opened.code)
            write_draft(
                out,
                opened.payload,
                person,
                code=opened.code,
                summary=summary,
                received=received,
                answers=answers,
            )
            async with backend.sessionmaker() as session, session.begin():
                await audit.record(
                    session,
                    actor=reviewer.key.key_id,
                    action="wgeid.draft",
                    target=opened.code,
                    detail={"person": person},
                )

    try:
        asyncio.run(go())
    except (ReviewError, PermissionError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{out}: draft for case {code.upper()}, person {person}. Nothing was sent.")


@export_app.command("verify")
def export_verify(
    bundle: Path,
    signer: Annotated[str | None, typer.Option(help="The exporter's signing key (hex).")] = None,
) -> None:
    """Check a bundle's signature and the SHA-256 of every file in it."""
    try:
        count = verify_bundle(bundle, signer)
    except ExportError as exc:
        fail(str(exc), code=1)
    typer.echo(f"{bundle}: signature and {count} files verified")


def main() -> None:
    """Entry point of the console script."""
    app()
