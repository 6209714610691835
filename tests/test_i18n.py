"""The catalogs: complete in kk, ru and en, same placeholders, right plurals, real Kazakh."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n import Catalogs, I18nError, negotiate_locale, ngettext, use_locale
from bot.i18n_tools import POT, extract

LOCALES_DIR = i18n.LOCALES_DIR
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=locale)


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    Catalogs.load().install()


def template_ids() -> set[str]:
    with POT.open("rb") as source:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}


def test_the_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    extract(fresh)
    with fresh.open("rb") as source:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}
    assert ids == template_ids(), "run `make i18n`"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    found = {}
    for message in catalog(locale):
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = (message.string,) if isinstance(message.string, str) else message.string
        assert all(strings), f"{locale}: untranslated {ids[0]!r}"
        assert not message.fuzzy, f"{locale}: fuzzy {ids[0]!r}"
        for index, string in enumerate(strings):
            source = ids[min(index, len(ids) - 1)]
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(source)), (
                f"{locale}: placeholders differ in {ids[0]!r}"
            )
        found[ids[0]] = strings
    assert set(found) == template_ids()


def test_kazakh_is_kazakh_not_russian() -> None:
    longer = [
        m
        for m in catalog("kk")
        if m.id
        if isinstance(m.string, str) and len(re.sub(r"[^\w]", "", m.string)) > 25
    ]
    assert longer
    for message in longer:
        letters = re.sub(r"\{[^}]*\}|/[a-z]+|[A-Za-z0-9]", "", message.string)
        if len(letters) > 25:
            assert KAZAKH_LETTERS & set(message.string), f"not Kazakh: {message.string[:60]!r}"


def test_plural_forms() -> None:
    assert catalog("ru").num_plurals == 3
    assert catalog("kk").num_plurals == 2
    expected_ru = {
        1: "фотография",
        2: "фотографии",
        5: "фотографий",
        11: "фотографий",
        21: "фотография",
        22: "фотографии",
        25: "фотографий",
    }
    with use_locale("ru"):
        for n, word in expected_ru.items():
            assert ngettext("{count} photo", "{count} photos", n).format(count=n) == f"{n} {word}"
    with use_locale("kk"):
        assert ngettext("{count} photo", "{count} photos", 1).format(count=1) == "1 сурет"
        assert ngettext("{count} photo", "{count} photos", 2).format(count=2) == "2 сурет"


@pytest.mark.parametrize(
    ("stored", "telegram", "expected"),
    [
        ("ru", "en", "ru"),
        (None, "ru-RU", "ru"),
        (None, "kk", "kk"),
        (None, "en-US", "en"),
        (None, "uk", "kk"),
        (None, None, "kk"),
        ("fr", "en", "en"),
    ],
)
def test_locale_choice_order(stored: str | None, telegram: str | None, expected: str) -> None:
    assert negotiate_locale(stored, telegram, "kk") == expected


async def test_each_task_keeps_its_own_locale() -> None:
    seen: dict[str, list[str]] = {"kk": [], "ru": []}

    async def speak(locale: str) -> None:
        with use_locale(locale):
            for _ in range(5):
                await asyncio.sleep(0)
                seen[locale].append(i18n.gettext("Yes"))

    await asyncio.gather(speak("kk"), speak("ru"))
    assert set(seen["kk"]) == {"Иә"} and set(seen["ru"]) == {"Да"}


def test_a_missing_catalog_stops_the_start(tmp_path: Path) -> None:
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy)
    shutil.rmtree(copy / "ru")
    with pytest.raises(I18nError, match="ru catalog is missing"):
        Catalogs.load(copy)


def test_a_fresh_clone_compiles_its_catalogs(tmp_path: Path) -> None:
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy)
    for mo in copy.rglob("*.mo"):
        mo.unlink()
    Catalogs.load(copy)
    assert len(list(copy.rglob("*.mo"))) == len(i18n.LOCALES)


def test_dates_and_numbers_follow_the_locale() -> None:
    from datetime import date

    with use_locale("ru"):
        assert "нояб" in i18n.format_date(date(2026, 11, 23))
        assert i18n.format_number(12345.5) == "12\xa0345,5"
    with use_locale("en"):
        assert i18n.format_date(date(2026, 11, 23)) == "Nov 23, 2026"
