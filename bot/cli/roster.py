"""`aigaq keys roster key|sign|show`: the team roster, made and signed on an admin's laptop.

The roster key never goes to the server (`aigaq doctor` fails if it finds it there); the
bot's settings name only its fingerprint (AIGAQ_ROSTER_KEY).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.shell import fail, settings_or_exit
from bot.crypto import CryptoError
from bot.crypto.delivery import signer_fingerprint, signing_key_file
from bot.crypto.roster import (
    Organisation,
    load_reviewer_lines,
    read_roster,
    sign_roster,
)


def roster_key(
    out: Annotated[Path, typer.Option(help="Where to write the roster key (an admin's laptop).")],
) -> None:
    """Make the team's roster key; print its fingerprint for AIGAQ_ROSTER_KEY."""
    if out.exists():
        fail(f"{out} exists already; choose another --out")
    try:
        key = signing_key_file(out, unwritable="choose a folder you can write")
    except CryptoError as exc:
        fail(str(exc))
    typer.echo(
        f"roster key written to {out}: keep it on this laptop, never on the server", err=True
    )
    typer.echo(f"AIGAQ_ROSTER_KEY={signer_fingerprint(key.public_key())}")


def roster_sign(
    key: Annotated[Path, typer.Option(help="The roster key file (`aigaq keys roster key`).")],
    version: Annotated[int, typer.Option(help="Higher than every roster signed before.")],
    out: Annotated[Path, typer.Option(help="Where to write the signed roster.")],
    reviewers: Annotated[
        Path, typer.Option(help="The reviewers' aigaq-pub-v1 lines, one per line.")
    ] = Path("recipients.txt"),
    organisation: Annotated[str, typer.Option(help="Who submits to the UN.")] = "",
    address: Annotated[str, typer.Option(help="Its postal address.")] = "",
    contact: Annotated[str, typer.Option(help="Its contact person (name, phone).")] = "",
    email: Annotated[str, typer.Option(help="Its e-mail address.")] = "",
    intake: Annotated[
        str, typer.Option(help="The bot's intake key fingerprint (`aigaq keys intake`).")
    ] = "",
    delivery: Annotated[
        str, typer.Option(help="The bot's delivery signing key fingerprint (`aigaq keys inbox`).")
    ] = "",
    backup: Annotated[
        str, typer.Option(help="The bot's backup key fingerprint (`aigaq keys backup`).")
    ] = "",
) -> None:
    """Sign a roster of the reviewers' keys; the bot seals only to them. With the bot's own
    signing keys' fingerprints, reviewer tools pin those from the roster too."""
    if not key.exists():
        fail(f"{key} does not exist; make the roster key with `aigaq keys roster key --out`")
    try:
        signing = signing_key_file(key, unwritable="")
        if out.exists():
            # The roster it replaces: a version that does not go up would be refused by every
            # bot and reviewer tool that saw the old one (or, reused, mean two rosters).
            before = read_roster(out, signer_fingerprint(signing.public_key()))
            if version <= before.version:
                fail(
                    f"{out} is roster version {before.version}: sign this one with a higher "
                    "--version"
                )
        listed = load_reviewer_lines(reviewers)
        keys = [reviewer.key for reviewer in listed]
        text = sign_roster(
            signing,
            version=version,
            reviewers=listed,
            organisation=Organisation(organisation, address, contact, email),
            signers={
                role: value
                for role, value in (("intake", intake), ("delivery", delivery), ("backup", backup))
                if value
            },
        )
    except CryptoError as exc:
        fail(str(exc))
    out.write_text(text, encoding="utf-8")
    typer.echo(f"roster version {version} with {len(keys)} reviewer key(s) written to {out}")
    for reviewer in listed:
        signs = "" if reviewer.signing else "  (no export-signing key: her bundles are UNTRUSTED)"
        typer.echo(f"  {reviewer.fingerprint}  {reviewer.key.label}{signs}")


def roster_show(
    roster: Annotated[
        Path | None, typer.Argument(help="The roster file; unset, AIGAQ_ROSTER.")
    ] = None,
) -> None:
    """Check a roster's signature (against AIGAQ_ROSTER_KEY when set) and list its keys."""
    settings = settings_or_exit()
    path = roster or settings.roster
    try:
        found = read_roster(path, settings.roster_key)
    except CryptoError as exc:
        fail(str(exc))
    pinned = "the pinned roster key" if settings.roster_key else "a roster key not pinned here"
    typer.echo(f"{path}: version {found.version}, issued {found.issued_at:%Y-%m-%d %H:%M}")
    typer.echo(f"signed by {pinned}: {found.signed_by}")
    for reviewer in found.reviewers:
        typer.echo(f"  reviewer {reviewer.fingerprint}  {reviewer.key.label}")
        if reviewer.signing_hex:
            typer.echo(f"    signs exports with {reviewer.signing_hex}")
    for role, fingerprint in sorted(found.signers.items()):
        typer.echo(f"  the bot's {role} key {fingerprint}")
    if found.organisation.name:
        typer.echo(f"submitted to the UN by {found.organisation.name}")
