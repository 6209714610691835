"""Unlock a reviewer's private key for a command, on the reviewer's own machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.shell import Backend, fail
from bot.crypto import CryptoError
from bot.reviewing.cases import Reviewer
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.pins import Pins

KeyOption = Annotated[
    Path, typer.Option("--key", envvar="AIGAQ_REVIEWER_KEY", help="Your private key file.")
]
PassOption = Annotated[Path | None, typer.Option(help="Read the passphrase from this file.")]


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


def reviewer_key(path: Path, passphrase_file: Path | None) -> ReviewerKey:
    passphrase = read_passphrase(passphrase_file, confirm=False)
    try:
        return ReviewerKey.load(path, passphrase)
    except CryptoError as exc:
        fail(str(exc))


def open_reviewer(backend: Backend, key: Path, passphrase_file: Path | None) -> Reviewer:
    """Her tools: the roster verified against the key she pinned (AIGAQ_ROSTER_KEY, or the
    one pinned beside her key file at first use), her memory and index beside her key."""
    return Pins.of(backend.settings).tools(
        backend.sessionmaker, reviewer_key(key, passphrase_file), key
    )
