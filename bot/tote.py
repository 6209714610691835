"""Arabic-script Kazakh (төте жазу), as written in Xinjiang: from Cyrillic and back.

The letter table and the hamza rule are in docs/kk-arab.md with their source. Text that
must stay Latin (placeholders, commands, case codes, numbers) is wrapped in Unicode
directional isolates so it keeps its order inside a right-to-left sentence.

`python -m bot.tote` regenerates locales/kk_Arab from the Kazakh Cyrillic catalog; entries
in locales/kk_Arab/overrides.json (msgid -> text) win over the generated ones.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate, pop directional isolate
HAMZA = "\u0674"  # ٴ  high hamza: the word is read with front vowels
ARABIC_HAMZA = "\u0621"  # ء  the hamza as many keyboards type it

LETTERS = {
    "а": "ا", "ә": "ا", "б": "ب", "в": "ۆ", "г": "گ", "ғ": "ع", "д": "د", "е": "ە",
    "ё": "يو", "ж": "ج", "з": "ز", "и": "ي", "й": "ي", "к": "ك", "қ": "ق", "л": "ل",
    "м": "م", "н": "ن", "ң": "ڭ", "о": "و", "ө": "و", "п": "پ", "р": "ر", "с": "س",
    "т": "ت", "у": "ۋ", "ұ": "ۇ", "ү": "ۇ", "ф": "ف", "х": "ح", "һ": "ھ", "ц": "تس",
    "ч": "چ", "ш": "ش", "щ": "شش", "ъ": "", "ы": "ى", "і": "ى", "ь": "", "э": "ە",
    "ю": "يۋ", "я": "يا",
}  # fmt: skip
FRONT = set("әөүі")
# These letters already say "front vowels", so such a word needs no hamza.
FRONT_SIGNS = set("екгэ")
PUNCTUATION = {",": "،", "?": "؟", ";": "؛"}

CYRILLIC_WORD = re.compile(r"[а-яёәғқңөұүһі]+", re.IGNORECASE)
KEEP_LATIN = re.compile(
    r"`[^`\n]+`"  # a command line quoted for staff, kept whole
    r"|[#.]?\{[a-z_]*\}"  # placeholders («#» of a number kept with it)
    r"|/[a-z_]+"  # commands
    r"|[#.]?[A-Za-z0-9](?:[A-Za-z0-9@._:+%-]*[A-Za-z0-9%])?"  # codes, numbers, times, names
)
ONE_YA = re.compile(r"(?<=\w)и(?=[яю])")
TOKEN = re.compile(f"({KEEP_LATIN.pattern})|({CYRILLIC_WORD.pattern})", re.IGNORECASE)


def word_to_arabic(word: str) -> str:
    """One Cyrillic Kazakh word in Arabic script, with the hamza where the rule wants it."""
    lower = word.lower()
    # Xinjiang writes «ия», «ию» inside a word with one ي: құпия → قۇپيا, not قۇپييا.
    lower = ONE_YA.sub("", lower)
    body = "".join(LETTERS.get(ch, ch) for ch in lower)
    if FRONT & set(lower) and not FRONT_SIGNS & set(lower):
        return HAMZA + body
    return body


def isolate(text: str) -> str:
    """Keep a left-to-right run in order inside right-to-left text."""
    return f"{LRI}{text}{PDI}"


def to_arabic(text: str) -> str:
    """A Kazakh Cyrillic message in Arabic script; punctuation Arabic, and each run of Latin
    words separated only by spaces in one isolate, so `/status K7QF-M2XD` keeps its order
    (two isolates side by side would be laid out right to left: `K7QF-M2XD /status`)."""
    out: list[str] = []
    position = 0
    run: list[str] = []  # the Latin words of the current run, with the spaces between them
    for match in TOKEN.finditer(text):
        gap = text[position : match.start()]
        latin, cyrillic = match.groups()
        if latin and run and gap and not gap.strip(" "):
            run.append(gap + latin)
        else:
            if run:
                out.append(isolate("".join(run)))
                run = []
            out.append(_punctuate(gap))
            if latin:
                run = [latin]
            else:
                out.append(word_to_arabic(cyrillic))
        position = match.end()
    if run:
        out.append(isolate("".join(run)))
    out.append(_punctuate(text[position:]))
    return "".join(out)


# Abbreviations a reader of Arabic-script Kazakh would not recognise letter by letter: the
# catalog spells them out (glossary: "spell out Біріккен Ұлттар Ұйымы").
SPELLED_OUT = re.compile(r"\bБҰҰ(-ның|-ға|-на)?(?![А-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі])")
# Abbreviations kept in Latin inside the isolate instead (a reader knows «MB» from her
# phone; «مب» is no word).
LATIN_ABBREVIATIONS = {"МБ": "MB"}
LATIN_ABBREVIATION = re.compile(r"\b(МБ)(?![А-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі])")
SPELLED_OUT_FORMS = {
    None: "Біріккен Ұлттар Ұйымы",
    "-ның": "Біріккен Ұлттар Ұйымының",
    "-ға": "Біріккен Ұлттар Ұйымына",
    "-на": "Біріккен Ұлттар Ұйымына",
}


def spell_out(text: str) -> str:
    """«БҰҰ» (the UN) written in full, with its case ending; «МБ» as «MB»."""
    text = SPELLED_OUT.sub(lambda match: SPELLED_OUT_FORMS[match.group(1)], text)
    return LATIN_ABBREVIATION.sub(lambda match: LATIN_ABBREVIATIONS[match.group(1)], text)


def _punctuate(gap: str) -> str:
    return "".join(PUNCTUATION.get(ch, ch) for ch in gap)


# Back to Cyrillic, for folding names to one key: the hamza only marks front vowels.
REVERSE = {
    "ا": "а", "ب": "б", "ۆ": "в", "گ": "г", "ع": "ғ", "د": "д", "ە": "е", "ج": "ж",
    "ز": "з", "ي": "и", "ك": "к", "ق": "қ", "ل": "л", "م": "м", "ن": "н", "ڭ": "ң",
    "و": "о", "پ": "п", "ر": "р", "س": "с", "ت": "т", "ۋ": "у", "ۇ": "ұ", "ف": "ф",
    "ح": "х", "ھ": "һ", "چ": "ч", "ش": "ш", "ى": "ы", "ٶ": "ө", "ٷ": "ү", "ٸ": "і",
    "ه": "е", "ة": "е", "ی": "и", "ک": "к", "ئ": "",
}  # fmt: skip
FRONT_PAIRS = {"а": "ә", "о": "ө", "ұ": "ү", "ы": "і"}
ARABIC_WORD = re.compile(r"[\u0600-\u06ff\u0674]+")


def word_to_cyrillic(word: str) -> str:
    """An Arabic-script Kazakh word in Cyrillic (for matching, not for display)."""
    # The hamza is often typed as U+0621 «ء» on phones in Xinjiang: at the start of a word
    # it is the same front-vowel mark as U+0674.
    front = word.startswith((HAMZA, ARABIC_HAMZA)) or "\u0654" in word
    letters = "".join(REVERSE.get(ch, "") for ch in word if ch not in (HAMZA, "\u0654"))
    if front:
        letters = "".join(FRONT_PAIRS.get(ch, ch) for ch in letters)
    return letters


def to_cyrillic(text: str) -> str:
    """Every Arabic-script word of a text in Cyrillic; everything else as it was."""
    return ARABIC_WORD.sub(lambda m: word_to_cyrillic(m.group(0)), text)


def generate(locales: Path) -> int:
    """Write locales/kk_Arab/LC_MESSAGES/messages.po from the kk catalog; returns the count."""
    from babel.messages.pofile import read_po, write_po

    with (locales / "kk" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="kk")
    overrides_path = locales / "kk_Arab" / "overrides.json"
    overrides: dict[str, object] = (
        json.loads(overrides_path.read_text(encoding="utf-8")) if overrides_path.exists() else {}
    )
    catalog.locale = "kk_Arab"
    count = 0
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in overrides:
            given = overrides[key]
            message.string = tuple(given) if isinstance(given, list) else str(given)
        elif isinstance(message.string, tuple):
            message.string = tuple(to_arabic(spell_out(s)) for s in message.string)
        else:
            message.string = to_arabic(spell_out(str(message.string)))
        count += 1
    target = locales / "kk_Arab" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        write_po(out, catalog, width=0, no_location=True, omit_header=False)
    return count


if __name__ == "__main__":
    from bot.i18n import LOCALES_DIR

    print(f"kk_Arab: {generate(LOCALES_DIR)} messages written")
    sys.exit(0)
