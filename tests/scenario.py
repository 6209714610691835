"""The relative's walk through the intake, as one scenario helper for tests and benchmarks.

`walk_intake(user, locale=…, persons=…)` answers every question the way she would, by text
or by voice, sends a story, photos and a PDF, gives her consent (`Consent`, the defaults
unless a test says otherwise), submits, and returns the case code.
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass
from typing import Any

import pikepdf
from PIL import Image


@dataclass(frozen=True)
class Consent:
    """Her answers to the consent questions (button values)."""

    contact: str = "yes"
    sharing: str = "organisations"
    un: str = "yes"
    un_name: str = "no"
    subscribe: str = "no"


# A case code (two groups) and a receipt code (four groups, Crockford base32).
CODE = re.compile(r"(?<![A-Z0-9-])[A-Z0-9]{4}-[A-Z0-9]{4}(?![A-Z0-9-])")
RECEIPT = re.compile(
    r"(?<![A-Z0-9-])(?:[0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}(?![A-Z0-9-])"
)


def _photo(seed: int, width: int, height: int) -> bytes:
    """A real JPEG (the working copies of bot/reviewing/clean.py re-encode it), the same
    bytes in every run: noise from a seeded generator, with a camera's EXIF."""
    noise = random.Random(seed)
    pixels = bytes(noise.randrange(256) for _ in range(width * height * 3))
    image = Image.frombytes("RGB", (width, height), pixels)
    exif = Image.Exif()
    exif[0x010F] = "Test camera"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _pdf(text: str, pages: int) -> bytes:
    """A real PDF with an author in its info dictionary, the same bytes in every run."""
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page()
        page = document.pages[-1]
        page.Contents = document.make_stream(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    document.docinfo["/Author"] = "Test author"
    out = io.BytesIO()
    document.save(out, static_id=True)
    return out.getvalue()


PHOTO_1 = _photo(1, 96, 64)
PHOTO_2 = _photo(2, 120, 80)
PDF = _pdf("letter from the ministry", 40)
VOICE = b"OggS" + b"her voice telling what happened " * 300
LONG_STORY = ("Менің ұлым 2018 жылы мамыр айында Құлжада ұсталды. " * 120).strip()

# A mother reporting her son and her husband: who each person is to her, as she answers it.
PERSONS = [
    {
        "relation": "son",
        "name": "Ерлан Нұрғалиұлы",
        "alt": "叶尔兰·努尔哈力",
        "han": "叶尔兰·努尔哈力",
        "gender": "male",
        "year": "шамамен 1985",
        "prefecture": "ili",
        "detail": "Құлжа ауданы",
        "detained": "05.2018",
        "status": "camp",
        "told_where": "no",
        "held_at": "Құлжа, №3 лагерь",
        "last_contact": "2018 жылы WeChat арқылы",
        "occupation": "мұғалім",
        "reason": "Қазақстанға барғаны үшін",
        "detained_place": "Құлжа қаласы, өз үйінен",
        "perpetrators": "police",
        "id_number": "654023198501010019",
        "citizenship": "china",
        "kz_status": "residence_permit",
        "documents_taken": "yes",
        "travel_ban": "_unknown",
        "steps_taken": "Консулдыққа хат жаздым, жауап келмеді.",
    },
    {
        "relation": "husband",
        "name": "Erlan's father Nurgali",
        "alt": None,
        "han": None,
        "gender": "male",
        "year": "1960s",
        "prefecture": "altay",
        "detail": None,
        "detained": "2019",
        "status": "prison",
        "told_where": None,
        "held_at": None,
        "last_contact": None,
        "occupation": None,
        "reason": None,
        "detained_place": None,
        "perpetrators": "_unknown",
        "id_number": None,
        "citizenship": None,
        "kz_status": None,
        "documents_taken": None,
        "travel_ban": None,
        "steps_taken": None,
    },
]
# Asked since 2026-11 (bot/case_upgrade.py), buttons each: the value pressed, None to skip.
BUTTONS_AFTER_ID = ("citizenship", "kz_status", "documents_taken", "travel_ban")


async def answer_or_skip(user: Any, step: str, value: str | None) -> None:
    if value is None:
        await user.press(f"i:{step}:_skip")
    else:
        await user.send_text(value)


async def press_or_skip(user: Any, step: str, value: str | None) -> None:
    await user.press(f"i:{step}:{value or '_skip'}")


async def skip_new_questions(press: Any, where: str) -> None:
    """Skip what is asked since 2026-11 at one place of a person's questions (`after_alt`,
    `after_status`, `after_id`), for tests that walk the dialogue by hand."""
    steps = {
        "after_alt": ("name_han",),
        "after_status": ("told_where",),
        "after_id": BUTTONS_AFTER_ID,
    }[where]
    for step in steps:
        await press(f"i:{step}:_skip")


async def walk_intake(
    user: Any,
    *,
    locale: str,
    persons: list[dict[str, Any]],
    by_voice: bool = False,
    consent: Consent = Consent(),
    submit: bool = True,
    files_about: tuple[tuple[int, str] | None, ...] = (),
) -> str:
    """The whole dialogue, as she would go through it; returns the case code (or, with
    `submit=False`, stops at the summary and returns ""). `files_about`: for each file she
    sends (two photos, a PDF), the person (1-based) and the document type she says it is;
    None, or no entry, and she skips the question."""
    await user.send_command("start")
    await user.press(f"lang:{locale}")
    await user.press("i:safety:_continue")
    # Person 1's relation is asked first, before her own name; each later person's first.
    await user.press(f"i:relation:{persons[0].get('relation', 'son')}")
    await user.send_text("Гүлбаһрам")
    await user.send_text("Алматы, Қазақстан")
    for index, person in enumerate(persons):
        if index:
            await user.press(f"i:relation:{person.get('relation', 'other')}")
        if by_voice:
            await user.send_voice(VOICE + bytes([index]))
        else:
            await user.send_text(person["name"])
        await answer_or_skip(user, "name_alt", person["alt"])
        await answer_or_skip(user, "name_han", person.get("han"))
        await user.press(f"i:gender:{person['gender']}")
        await user.send_text(person["year"])
        await user.press(f"i:hometown:{person['prefecture']}")
        await answer_or_skip(user, "hometown_detail", person["detail"])
        await user.send_text(person["detained"])
        await user.press(f"i:status:{person['status']}")
        await press_or_skip(user, "told_where", person.get("told_where"))
        for step in ("held_at", "last_contact", "occupation", "reason", "detained_place"):
            await answer_or_skip(user, step, person[step])
        await user.press(f"i:perpetrators:{person['perpetrators']}")
        await answer_or_skip(user, "id_number", person["id_number"])
        for step in BUTTONS_AFTER_ID:
            await press_or_skip(user, step, person.get(step))
        await answer_or_skip(user, "steps_taken", person["steps_taken"])
        await user.press("i:another:" + ("yes" if index < len(persons) - 1 else "no"))
    await user.send_text(LONG_STORY)
    if by_voice:
        await user.send_voice(VOICE)
    await user.send_text("Мен консулдыққа хат жаздым.")
    await user.press("i:narrative:_done")
    await user.send_photo(PHOTO_1)
    await describe_file(user, 0, files_about, len(persons))
    await user.send_photo(PHOTO_2)
    await describe_file(user, 1, files_about, len(persons))
    await user.send_document(PDF, file_name="letter.pdf", mime_type="application/pdf")
    await describe_file(user, 2, files_about, len(persons))
    return await finish_intake(user, consent=consent, submit=submit)


async def finish_intake(user: Any, *, consent: Consent = Consent(), submit: bool = True) -> str:
    """From the evidence step to the end: Done, her consent, Submit; the case code (or, with
    `submit=False`, "" at the summary)."""
    await user.press("i:evidence:_done")
    await user.press(f"i:consent_contact:{consent.contact}")
    await user.press(f"i:consent_sharing:{consent.sharing}")
    await user.press(f"i:consent_un:{consent.un}")
    if consent.un == "yes":
        await user.press(f"i:consent_un_name:{consent.un_name}")
    await user.press(f"i:subscribe:{consent.subscribe}")
    if not submit:
        return ""
    await user.press("i:summary:submit")
    found = [CODE.search(m.text or "") for m in user.messages]
    codes = [m.group(0) for m in found if m]
    assert codes, "no case code was shown"
    return codes[-1]


async def describe_file(
    user: Any, index: int, about: tuple[tuple[int, str] | None, ...], persons: int
) -> None:
    """Her answer to "which person is this file about, what is it?" (skipped: nothing)."""
    said = about[index] if index < len(about) else None
    if said is None:
        return
    person, doc_type = said
    if persons > 1:
        await user.press(file_tag(user, index, f"p{person}"))
    await user.press(file_tag(user, index, f"t{doc_type}"))


def file_tag(user: Any, index: int, what: str) -> str:
    """The callback data of the newest button describing her file `index` (`p2`, `tid_card`,
    `_skip`): the tag carries a mark of that file (bot/services/file_tags.py)."""
    start, end = f"i:evidence:f{index}.", f":{what}"
    for message in reversed(user.messages):
        for _label, data in message.buttons():
            if data.startswith(start) and data.endswith(end):
                return str(data)
    raise AssertionError(f"no button describing file {index} as {what!r}")


def receipt_of(user: Any, code: str | None = None) -> str:
    """The receipt code her newest thank-you message showed her (for that case code)."""
    texts = [m.text or "" for m in user.messages if code is None or code in (m.text or "")]
    found = [RECEIPT.search(text) for text in texts]
    receipts = [m.group(0) for m in found if m]
    assert receipts, "no receipt code was shown"
    return receipts[-1]


async def withdraw(user: Any, code: str | None = None) -> None:
    """She withdraws a case with its receipt code and confirms."""
    await user.send_command("withdraw", receipt_of(user, code))
    yes = next(data for _label, data in user.buttons() if not data.endswith(":no"))
    await user.press(yes)


def answer_token(user: Any) -> str:
    """The answer token on the newest Answer button a follow-up question brought her."""
    found = [d for m in user.messages for _text, d in m.buttons() if d.startswith("fu:")]
    assert found, "no follow-up question with an Answer button reached her"
    return str(found[-1]).removeprefix("fu:")
