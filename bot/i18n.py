"""Translations: catalogs loaded once at start-up, the current locale in a ContextVar.

Message ids are English sentences with `{named}` placeholders, never f-strings. Module-level
constants are marked with `N_` and translated where they are shown, with `_`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.core import negotiate_locale as babel_negotiate
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES: tuple[str, ...] = ("kk", "ru", "en", "kk_Arab")
# What people write in (admins' broadcasts, reviewers): kk_Arab is derived from kk.
WRITTEN_LOCALES: tuple[str, ...] = ("kk", "ru", "en")
LOCALE_NAMES = {
    "kk": "Қазақша",
    "ru": "Русский",
    "en": "English",
    "kk_Arab": "قازاقشا (توتە جازۋ)",
}
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("aigaq_locale", default="kk")
_installed: Catalogs | None = None


class I18nError(Exception):
    """A catalog is missing or broken; raised at start-up, not in front of a user."""


def _compiled(po_path: Path) -> Translations:
    """The catalog of one locale, compiled from its .po if the .mo is missing or older."""
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
        with po_path.open("rb") as source:
            catalog = read_po(source)
        try:
            with mo_path.open("wb") as target:
                write_mo(target, catalog, use_fuzzy=False)
        except OSError:
            # A read-only install: compile in memory instead.
            from io import BytesIO

            buffer = BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            return Translations(fp=buffer, domain=DOMAIN)
    with mo_path.open("rb") as compiled:
        return Translations(fp=compiled, domain=DOMAIN)


class Catalogs:
    """Every locale's compiled catalog, loaded together so a missing one fails at start."""

    def __init__(self, translations: dict[str, Translations]) -> None:
        self._translations = translations

    @classmethod
    def load(cls, locales_dir: Path | None = None) -> Catalogs:
        folder = locales_dir or LOCALES_DIR
        found: dict[str, Translations] = {}
        for locale in LOCALES:
            po_path = folder / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not po_path.exists():
                raise I18nError(f"the {locale} catalog is missing: {po_path}")
            try:
                found[locale] = _compiled(po_path)
            except Exception as exc:
                raise I18nError(f"the {locale} catalog is broken: {type(exc).__name__}") from exc
        return cls(found)

    def install(self) -> None:
        """Make these the catalogs `gettext` uses."""
        global _installed
        _installed = self

    def get(self, locale: str) -> NullTranslations:
        return self._translations.get(locale) or NullTranslations()


def _translations(locale: str) -> NullTranslations:
    return _installed.get(locale) if _installed is not None else NullTranslations()


def current_locale() -> str:
    """The locale of the update being handled."""
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Speak this locale inside the block (one asyncio task's context only)."""
    token = _locale.set(locale if locale in LOCALES else LOCALES[0])
    try:
        yield _locale.get()
    finally:
        _locale.reset(token)


def gettext(message: str) -> str:
    """The message in the current locale."""
    return _translations(current_locale()).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The right plural form in the current locale (three in Russian, two in Kazakh)."""
    return _translations(current_locale()).ngettext(singular, plural, n)


def translate(locale: str, message: str) -> str:
    """The message in a given locale, e.g. for someone other than the current user."""
    return _translations(locale).gettext(message)


def N_(message: str) -> str:
    """Mark a constant for extraction; translate it later with `_`."""
    return message


def negotiate_locale(stored: str | None, telegram_code: str | None, default: str) -> str:
    """Her stored choice, else Telegram's language negotiated with Babel, else the default."""
    if stored in LOCALES:
        return stored
    if telegram_code:
        preferred = [telegram_code.replace("-", "_"), telegram_code.split("-")[0]]
        found = babel_negotiate(preferred, list(LOCALES), sep="_")
        if found in LOCALES:
            return found
    return default


def _babel_locale() -> Locale:
    try:
        return Locale.parse(current_locale())
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_date(value: date | datetime, format: str = "medium") -> str:
    """A date as the current locale writes it."""
    return babel_dates.format_date(value, format=format, locale=_babel_locale())


def format_number(value: float) -> str:
    """A number with the current locale's separators."""
    return babel_numbers.format_decimal(value, locale=_babel_locale())
