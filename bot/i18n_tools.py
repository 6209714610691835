"""Catalog upkeep: `python -m bot.i18n_tools extract|update|compile|check`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES, LOCALES_DIR, WRITTEN_LOCALES

ROOT = LOCALES_DIR.parent
POT = LOCALES_DIR / f"{DOMAIN}.pot"
KEYWORDS = ["-k", "N_", "-k", "ngettext:1,2", "-k", "translate:2", "-k", "t"]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(output: Path = POT) -> None:
    """Write messages.pot from the code (message ids sorted, no line numbers to churn)."""
    _pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        *KEYWORDS,
        "--no-location",
        "--sort-output",
        "--project",
        "Aigaq",
        "--no-wrap",
        "-o",
        str(output),
        str(ROOT),
    )


def update() -> None:
    """Extract, merge the template into kk, ru and en keeping translations, then derive
    the Arabic-script Kazakh catalog from the Kazakh one."""
    from bot.tote import generate

    extract()
    for locale in WRITTEN_LOCALES:
        po = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.exists():
            _pybabel(
                "update",
                "-i",
                str(POT),
                "-d",
                str(LOCALES_DIR),
                "-D",
                DOMAIN,
                "-l",
                locale,
                "--no-wrap",
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            )
        else:
            _pybabel(
                "init",
                "-i",
                str(POT),
                "-d",
                str(LOCALES_DIR),
                "-D",
                DOMAIN,
                "-l",
                locale,
                "--no-wrap",
            )
    generate(LOCALES_DIR)


def compile_all() -> None:
    """Write the .mo files next to the .po files."""
    _pybabel("compile", "-d", str(LOCALES_DIR), "-D", DOMAIN, "--use-fuzzy")


def problems() -> list[str]:
    """Untranslated, fuzzy or placeholder-mismatched entries, one line each."""
    found = []
    for locale in LOCALES:
        po = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        with po.open("rb") as source:
            catalog = read_po(source)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"{locale}: untranslated: {ids[0][:70]!r}")
            elif message.fuzzy:
                found.append(f"{locale}: fuzzy: {ids[0][:70]!r}")
            elif any(
                set(PLACEHOLDER.findall(str(s))) != set(PLACEHOLDER.findall(str(ids[min(i, 1)])))
                for i, s in enumerate(strings)
            ):
                found.append(f"{locale}: placeholders differ: {ids[0][:70]!r}")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "extract":
        extract()
    elif command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        issues = problems()
        print("\n".join(issues) or "every message is translated")
        return 1 if issues else 0
    else:
        print("usage: python -m bot.i18n_tools extract|update|compile|check", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
