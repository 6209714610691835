"""`aigaq try`: the real bot on this computer, for someone deciding whether to use it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer


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
