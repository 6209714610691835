"""`aigaq catalog review LANG`: every message in one language, for a native speaker."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.catalog_review import dialogue_order
from bot.cli.shell import fail
from bot.i18n import LOCALES


def catalog_review(
    locale: Annotated[str, typer.Argument(help=f"One of {', '.join(LOCALES)}.")],
) -> None:
    """Print every message in dialogue order: where it appears, the English source, and its
    translation (docs/translating.md: read it whole, mark what to change, edit the .po)."""
    if locale not in LOCALES:
        fail(f"the language is one of {', '.join(LOCALES)}")
    where = None
    for shown in dialogue_order(locale):
        if shown.where != where:
            where = shown.where
            typer.echo(f"\n== {where}")
        context = f" [{shown.context}]" if shown.context else ""
        typer.echo(f"-- {shown.msgid}{context}")
        typer.echo(shown.text or "(not translated)")
