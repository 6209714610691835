"""The language review of 2026-11, held: wording a relative would notice if it came back."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from bot.tote import LRI, PDI


def _catalog(locale: str) -> dict[str, str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return {
            str(m.id): str(m.string)
            for m in read_po(source, locale=locale)
            if m.id and isinstance(m.id, str)
        }


def test_a_command_and_its_code_share_one_isolate_in_arabic_script() -> None:
    # Two isolates side by side are laid out right to left: she would copy the code first.
    for msgid, text in _catalog("kk_Arab").items():
        assert f"{PDI} {LRI}" not in text, msgid
    shown = _catalog("kk_Arab")[
        "Please write your receipt code after the command: /status 7K2M-Q9XD-3HPA-V0TC"
    ]
    assert f"{LRI}/status 7K2M-Q9XD-3HPA-V0TC{PDI}" in shown


# The detained person may be a mother or a daughter: each of these is neutral or gives both.
RUSSIAN_ABOUT_THE_PERSON = {
    "Died": "Умер / умерла",
    "Released": "Освобождён / освобождена",
    "Prison sentence": "Тюремный срок",
    "Who is the detained person to you?": "Кем вам приходится этот человек?",
    "Ili": "Илийский округ",  # «Или» alone reads as "or"
}


@pytest.mark.parametrize(("msgid", "expected"), sorted(RUSSIAN_ABOUT_THE_PERSON.items()))
def test_russian_statuses_fit_a_woman_too(msgid: str, expected: str) -> None:
    assert _catalog("ru")[msgid] == expected


WORKING_GROUP = {
    "en": "Working Group on Enforced or Involuntary Disappearances",
    "ru": "Рабочую группу ООН по насильственным или недобровольным исчезновениям",
    "kk": "Күштеп немесе еріксіз жоғалту жөніндегі жұмыс тобына",
}


@pytest.mark.parametrize("locale", sorted(WORKING_GROUP))
def test_the_working_group_has_its_full_name(locale: str) -> None:
    catalog = _catalog(locale)
    asking = [text for msgid, text in catalog.items() if msgid.startswith("May our team send")]
    assert asking and all(WORKING_GROUP[locale] in text for text in asking)


def test_kazakh_uses_the_glossary_words() -> None:
    kazakh = _catalog("kk")
    texts = " ".join(kazakh.values())
    assert "кері қайтар" not in texts  # withdraw is «қайтарып алу»
    assert "-шы жылдар" not in texts and kazakh["{year}s"] == "{year}-жылдар"
    assert "цифр" not in texts  # an ID «таңба», which may be X
    assert "{first} мен {last}" not in texts  # 1900 would need «бен»
    assert kazakh["My mother"] == "Анам" and kazakh["My sister"] == "Әпкем, сіңлім не қарындасым"
    safety = next(text for msgid, text in kazakh.items() if msgid.startswith("Before we begin."))
    assert "/cancel — барлық жауапты өшіріп" in safety and "/start арқылы жалғастыра" in safety
    assert "біздің топ" in safety and "тексерушілер" not in safety


def test_the_review_mode_shows_the_whole_dialogue_in_each_language() -> None:
    """`aigaq catalog review LANG`: the questions in the order she meets them, then every
    other message by file, each with its English source and its translation."""
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.i18n import LOCALES
    from bot.services.questions import STEPS

    for locale in LOCALES:
        result = CliRunner().invoke(app, ["catalog", "review", locale])
        assert result.exit_code == 0, result.output
        order = [
            line.removeprefix("== question ")
            for line in result.output.splitlines()
            if line.startswith("== question ")
        ]
        assert order == [step.name for step in STEPS]
        assert "(not translated)" not in result.output
        assert "== handlers/" in result.output  # the rest, by the file that says it
    assert CliRunner().invoke(app, ["catalog", "review", "fr"]).exit_code == 2


def test_every_line_of_the_summary_has_a_short_label_in_every_language() -> None:
    """ "Birth year: about 1955", never the whole question with its examples."""
    from bot.i18n import LOCALES, translate
    from bot.services.questions import STEPS
    from bot.services.summary_labels import SHORT

    shown = {"own_name", "residence", "consent_contact", "consent_sharing", "consent_un"}
    shown |= {"consent_un_name", "subscribe"}
    shown |= {s.name for s in STEPS if s.part == "person" and s.name != "another"}
    assert shown <= set(SHORT)
    for locale in LOCALES:
        for label in SHORT.values():
            said = translate(locale, label)
            assert said.endswith(":") and len(said) < 60 and "?" not in said
