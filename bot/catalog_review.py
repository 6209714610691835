"""Every message a person reads, for a translator to read as a whole (`aigaq catalog review`).

The questions first, in the order the relative meets them (bot/services/questions.py: each
question, its buttons and the note under it), then every other message grouped by the file
that says it, with its msgid, context and the translation in one language: a native speaker
reads the whole dialogue in an hour and marks what to change (docs/translating.md).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES_DIR
from bot.i18n_tools import KEYWORDS, ROOT
from bot.services.questions import STEPS


@dataclass(frozen=True)
class Shown:
    where: str  # a question's name, or the file that says it
    msgid: str
    context: str | None
    text: str  # the translation ("" while untranslated)


def catalog(locale: str) -> Catalog:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale.replace("_Arab", ""))


def sources() -> dict[tuple[str, str | None], str]:
    """(msgid, context) -> the first file that says it, from the code (the catalogs keep no
    locations, so that line numbers do not churn them)."""
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "located.pot"
        config = ["-F", str(ROOT / "babel.cfg"), *KEYWORDS, "--add-location", "file"]
        CommandLineInterface().run(["pybabel", "-q", "extract", *config, "-o", str(pot), str(ROOT)])
        with pot.open("rb") as handle:
            extracted = read_po(handle)
    return {
        (str(m.id), m.context): Path(m.locations[0][0]).resolve().relative_to(ROOT).as_posix()
        for m in extracted
        if m.id and m.locations and isinstance(m.id, str)
    }


def dialogue_order(locale: str) -> Iterator[Shown]:
    """The dialogue's messages in order, then the rest by file."""
    found = catalog(locale)
    located = sources()
    seen: set[tuple[str, str | None]] = set()

    def shown(where: str, msgid: str, context: str | None = None) -> Shown | None:
        message = found.get(msgid, context)
        if message is None or (msgid, context) in seen:
            return None
        seen.add((msgid, context))
        return Shown(where, msgid, context, str(message.string or ""))

    for step in STEPS:
        texts = [step.question, step.note, *(label for _value, label in step.options)]
        for text in filter(None, texts):
            if (item := shown(f"question {step.name}", text)) is not None:
                yield item
    by_file: dict[str, list[Shown]] = defaultdict(list)
    for message in found:
        if not message.id or not isinstance(message.id, str):
            continue
        where = located.get((message.id, message.context), "(not in the code any more)")
        if (item := shown(where, message.id, message.context)) is not None:
            by_file[where].append(item)
    for where in sorted(by_file):
        yield from by_file[where]
