"""Commands about reviewer keys: make one, list them, hand cases on, restore. Which keys the
bot seals to is the signed roster's to say (bot/cli/roster.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.shell import Backend, fail, run, settings_or_exit
from bot.cli.unlock import read_passphrase, reviewer_key
from bot.crypto import SUITE_MLKEM768_X25519, SUITE_X25519, CryptoError
from bot.crypto.keys import SIGNING_LINE_TAG, SUITE_NAMES
from bot.crypto.roster import read_roster
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError, TeamKeys
from bot.reviewing.requests import FileSink, Requests
from bot.reviewing.rewrap import NotCovered, StillListed, revoke, rewrap
from bot.reviewing.roster_pin import RosterPin
from bot.services.recipients import Recipients, UnknownKey
from bot.settings import Settings


def _unknown_key(exc: Exception) -> str:
    return f"no reviewer key {exc}; see `aigaq keys list`"


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
    typer.echo("give these two lines to the admin who signs the team roster:", err=True)
    typer.echo(public.to_line())
    typer.echo(f"{SIGNING_LINE_TAG} {key.signing_public_hex()}")


def keys_list() -> None:
    """Reviewer keys: id, label, suite, added, cases sealed to it."""
    for item in run(lambda backend: Recipients(backend.sessionmaker).listing()):
        state = "active " if item.active else "retired"
        suite = SUITE_NAMES.get(item.suite, str(item.suite))
        typer.echo(
            f"{item.key_id}  {state}  {suite:<15} {item.added_at:%Y-%m-%d}  "
            f"{item.cases:>6} cases  {item.label}"
        )


def keys_rewrap(
    key: Annotated[Path, typer.Option(help="Your private key file.")],
    to: Annotated[
        str,
        typer.Option(
            help="The new reviewer's full fingerprint, as `aigaq keys roster show` lists it."
        ),
    ],
    passphrase_file: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Let another reviewer of the signed roster open every case you can open (nothing is
    re-encrypted)."""
    reviewer = reviewer_key(key, passphrase_file)
    pin = RosterPin(key, settings_or_exit().roster_key)
    count = run(
        lambda backend: _rewrap(backend, reviewer, to, pin),
        errors=(UnknownKey, ReviewError),
        explain=lambda exc: _unknown_key(exc) if isinstance(exc, UnknownKey) else str(exc),
    )
    if pin.first_use:
        typer.echo(
            f"pinned the team's roster key {pin.first_use}: compare it with your admin's",
            err=True,
        )
    typer.echo(f"{count} data keys wrapped for {to}")


def keys_revoke(
    departed: Annotated[str, typer.Argument(help="The departed reviewer's key id (`keys list`).")],
    key: Annotated[Path, typer.Option(help="Your private key file.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: her wrapped keys go.")] = False,
    passphrase_file: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Drop a departed reviewer's wrapped keys, once she is out of the roster and your key
    opens everything she held (rewrap first); each is checked by unwrapping it."""
    if not yes:
        fail("this deletes every wrapped key of that reviewer: add --yes to confirm")
    reviewer = reviewer_key(key, passphrase_file)
    pin = RosterPin(key, settings_or_exit().roster_key)

    def explain(exc: Exception) -> str:
        if isinstance(exc, StillListed):
            return f"{departed} is in the signed roster: sign the next roster without it first"
        if isinstance(exc, NotCovered):
            return (
                f"your key cannot open {exc.alone} sealed objects {departed} holds: rewrap them "
                "to a reviewer in the roster first (`aigaq keys rewrap`); nothing was revoked"
            )
        return _unknown_key(exc) if isinstance(exc, UnknownKey) else str(exc)

    count = run(
        lambda backend: revoke(
            backend.sessionmaker,
            reviewer,
            departed,
            team=TeamKeys(backend.sessionmaker, reviewer.key_id, backend.settings.recipients, pin),
            requests=requests_of(backend, reviewer, pin),
        ),
        errors=(StillListed, NotCovered, UnknownKey, ReviewError),
        explain=explain,
    )
    typer.echo(f"{departed} revoked: {count} wrapped keys deleted")


def requests_of(backend: Backend, reviewer: ReviewerKey, pin: RosterPin) -> Requests:
    """Her signed requests, into the database's table or her requests file."""
    path = backend.settings.requests_file
    return Requests(backend.sessionmaker, reviewer, pin, sink=FileSink(path) if path else None)


async def _rewrap(backend: Backend, reviewer: ReviewerKey, to: str, pin: RosterPin) -> int:
    with typer.progressbar(length=1, label="re-wrapping") as bar:
        seen = 0

        def progress(done: int, total: int) -> None:
            nonlocal seen
            bar.length = max(total, 1)
            bar.update(done - seen)
            seen = done

        team = TeamKeys(backend.sessionmaker, reviewer.key_id, backend.settings.recipients, pin)
        return await rewrap(
            backend.sessionmaker,
            reviewer,
            to,
            team=team,
            requests=requests_of(backend, reviewer, pin),
            progress=progress,
        )


def restore_command(
    source: Annotated[Path, typer.Argument(help="A file made by `aigaq backup`.")],
    key: Annotated[Path, typer.Option(help="A reviewer's private key file.")],
    signer: Annotated[
        str | None,
        typer.Option(
            help="The bot's backup key fingerprint (`aigaq keys backup` on the server); "
            "unset, the one the verified roster names."
        ),
    ] = None,
    passphrase_file: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Restore a backup signed by the bot's backup key into the empty database at
    AIGAQ_DATABASE_URL."""
    from bot.backup import BackupError, restore

    settings = settings_or_exit()
    pinned = signer or _roster_backup_key(settings)
    reviewer = reviewer_key(key, passphrase_file)
    try:
        backend = asyncio.run(restore(settings.database_url, source, reviewer, signer=pinned))
    except (BackupError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"restored a {backend} backup; run `aigaq db upgrade` if the code is newer")


def _roster_backup_key(settings: Settings) -> str:
    """The backup key the verified roster names; exit saying how to pin one if none is."""
    if not settings.roster_key:
        fail(
            "no backup key is pinned: pass --signer with the fingerprint `aigaq keys backup` "
            "prints on the server, or set AIGAQ_ROSTER and AIGAQ_ROSTER_KEY to a roster that "
            "names it"
        )
    try:
        named = read_roster(settings.roster, settings.roster_key).signers.get("backup")
    except CryptoError as exc:
        fail(str(exc))
    if not named:
        fail(
            f"the roster {settings.roster} names no backup key: pass --signer with the "
            "fingerprint `aigaq keys backup` prints on the server, or have an admin sign the "
            "next roster with --backup"
        )
    return named
