"""Arabic-script Kazakh: the letter table, isolates, the whole dialogue, names across scripts."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_NAMES, LOCALES_DIR
from bot.services.answers import fold_name
from bot.tote import HAMZA, LRI, PDI, spell_out, to_arabic, to_cyrillic, word_to_arabic
from tests.harness import Harness
from tests.scenario import receipt_of
from tests.test_intake_dialogue import LONG_STORY, PDF, PERSONS, PHOTO_1, PHOTO_2, walk_intake

# Checked against the table of the Arabic-script Kazakh alphabet used in Xinjiang
# (docs/kk-arab.md gives the source): the hamza marks a front-vowel word that has no
# е, к, г of its own.
WORDS = {
    "қазақ": "قازاق",
    "тіл": "ٴتىل",
    "әке": "اكە",
    "білім": "ٴبىلىم",
    "өмір": "ٴومىر",
    "үй": "ٴۇي",
    "кітап": "كىتاپ",
    "сөз": "ٴسوز",
    "жер": "جەر",
    "бала": "بالا",
    "ұлы": "ۇلى",
    "айғақ": "ايعاق",
    "туысқан": "تۋىسقان",
    "Шыңжаң": "شىڭجاڭ",
    "Құлжа": "قۇلجا",
    "дәлел": "دالەل",
}
CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)


@pytest.mark.parametrize(("cyrillic", "arabic"), sorted(WORDS.items()))
def test_letter_table(cyrillic: str, arabic: str) -> None:
    assert word_to_arabic(cyrillic) == arabic


def test_codes_numbers_commands_and_placeholders_keep_their_order() -> None:
    text = to_arabic("Іс коды: {code}. Күйін /status {code} арқылы, 2018 жылы?")
    # A command and its argument sit in ONE isolate: two isolates side by side would be
    # laid out right to left, and she would copy `K7QF-M2XD /status`.
    assert f"{LRI}{{code}}{PDI}" in text and f"{LRI}/status {{code}}{PDI}" in text
    assert f"{LRI}2018{PDI}" in text and text.endswith("؟")
    assert not CYRILLIC.search(text)
    code = to_arabic("{code}").format(code="K7QF-M2XD")
    assert code == f"{LRI}K7QF-M2XD{PDI}"


def test_a_run_of_latin_words_is_one_isolate() -> None:
    text = to_arabic("Жазыңыз: /status 7K2M-Q9XD, мысалы: 2026-11-25 18:00 (Алматы) #{number}")
    assert f"{LRI}/status 7K2M-Q9XD{PDI}،" in text
    assert f"{LRI}2026-11-25 18:00{PDI}" in text and f"{LRI}#{{number}}{PDI}" in text


def test_xinjiang_spelling_one_ya_and_latin_mb() -> None:
    # «ия» inside a word is one ي in Xinjiang writing (құпия → قۇپيا, not قۇپييا).
    assert word_to_arabic("құпия") == "قۇپيا" and word_to_arabic("сияқты") == "سياقتى"
    assert word_to_arabic("полиция") == "پوليتسيا"
    assert to_arabic(spell_out("20 МБ-қа дейін")) == f"{LRI}20 MB{PDI}-قا دەيىن"
    assert "بۇۇ" not in to_arabic(spell_out("БҰҰ-ның жұмыс тобы"))


def test_a_hamza_typed_as_u0621_marks_front_vowels_too() -> None:
    assert to_cyrillic("\u0621ۇرىمجى") == to_cyrillic(f"{HAMZA}ۇرىمجى") == "үрімжі"


def test_the_language_name_has_no_hamza_inside_a_word() -> None:
    assert LOCALE_NAMES["kk_Arab"] == "قازاقشا (توتە جازۋ)"


def test_the_catalog_is_complete_and_has_no_cyrillic() -> None:
    with (LOCALES_DIR / "kk_Arab" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="kk_Arab")
    assert catalog.num_plurals == 2
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id
        for string in strings:
            assert not CYRILLIC.search(string), string


def test_one_name_in_three_scripts_folds_to_one_key() -> None:
    keys = {fold_name(n) for n in ("Ерлан Нұрғалиұлы", "Erlan Nurgaliuly", "ەرلان نۇرعاليۇلى")}
    assert len(keys) == 1
    assert fold_name("ٴبىلىم") == fold_name("Білім")


async def test_the_whole_dialogue_status_and_withdrawal_without_a_cyrillic_word(
    harness: Harness,
) -> None:
    user = harness.user(user_id=9500, language_code="kk")
    person = dict(PERSONS[0], name="ەرلان نۇرعاليۇلى", alt="Ерлан Нұрғалиұлы")
    code = await walk_intake(user, locale="kk_Arab", persons=[person])
    start = next(
        i
        for i, m in enumerate(user.messages)
        if HAMZA in (m.text or "") or "تاڭداڭىز" in (m.text or "")
    )
    # Her own answers are shown back as she wrote them (here, in Cyrillic); the bot's words
    # around them must all be in Arabic script.
    hers = [v for v in person.values() if isinstance(v, str)] + [
        LONG_STORY,
        "Гүлбаһрам",
        "Алматы, Қазақстан",
        "Мен консулдыққа хат жаздым.",
    ]
    her_words = {w.lower() for answer in hers for w in re.findall(r"\w+", answer)}
    for message in user.messages[start + 1 :]:
        text = " ".join(
            w for w in re.findall(r"\w+", message.text or "") if w.lower() not in her_words
        )
        assert not CYRILLIC.search(text), text
        for label, _data in message.buttons():
            assert not CYRILLIC.search(label) or label in ("Қазақша", "Русский"), label
    case = await harness.open_case(code)
    assert case["detainees"][0]["name"] == "ەرلان نۇرعاليۇلى"  # stored as she wrote it
    assert [await harness.open_attachment(e["uid"]) for e in case["evidence"]] == [
        PHOTO_1,
        PHOTO_2,
        PDF,
    ]
    receipt = receipt_of(user)
    await user.send_command("status", receipt)
    assert f"{LRI}{code}{PDI}" in user.last_text and not CYRILLIC.search(user.last_text)
    await user.send_command("withdraw", receipt)
    assert not CYRILLIC.search(user.last_text)
    await user.press(user.buttons()[0][1])
    assert code in user.last_text and not CYRILLIC.search(user.last_text)


async def test_a_command_copied_with_its_isolate_is_heard_as_the_command(
    harness: Harness,
) -> None:
    user = harness.user(user_id=9300, language_code="en")
    await user.send_command("help")
    expected = user.last_text
    await user.send_text(f"{LRI}/help{PDI}")  # as copied from an Arabic-script message
    assert user.last_text == expected
