"""UN-ready cases: the Working Group on Enforced or Involuntary Disappearances' six minimum
elements, checked per detained person, the urgent-procedure flag, and the draft submission.

Runs on the reviewer's machine. Nothing is sent anywhere: the draft is an OpenDocument file
for the team to check, complete and send themselves (docs/un.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyascii import anyascii
from odf.opendocument import OpenDocumentText
from odf.text import H, P

from bot.case import UNKNOWN, describe
from bot.i18n import N_, translate
from bot.services.answers import show_hidden
from bot.services.intake import UN_TRANSMISSION
from bot.services.urgency import is_urgent
from bot.tote import to_cyrillic

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

PRESENT, PARTIAL, MISSING = "present", "partial", "missing"

ELEMENTS = (
    ("identity", "Identity of the person (full name, and an ID number or a photo)"),
    ("date", "Date of the arrest or abduction (year, month and day)"),
    ("place", "Place of the arrest or abduction, or where last seen"),
    ("forces", "Forces believed responsible"),
    ("steps", "Steps taken to find the person, and the answers"),
    ("source", "Who submits, with the relative's consent, and confidentiality"),
)

# The follow-up question for a missing element, asked in her language under one heading
# that says what it is for: the team asks, not the UN, and nothing is submitted yet.
QUESTIONS_HEADING = N_("For a possible UN submission:")
QUESTIONS = {
    "identity": N_("Do you know his or her ID card number, or can you send a photo of the person?"),
    "date": N_("Do you know the exact day of the detention (day, month, year)?"),
    "place": N_("Where exactly was the person taken away from, or where were they last seen?"),
    "forces": N_(
        "Who took the person — police, state security, camp staff, or people in plain clothes?"
    ),
    "steps": N_(
        "What have you done to find the person (letters, the consulate, the ministry), and "
        "what answer did you get? If nothing could be done, why?"
    ),
    "source": N_(
        "May the team send your case to the UN Working Group on Enforced or Involuntary "
        "Disappearances? And may your name be given, or should it stay confidential?"
    ),
}
# Said after the question that asks for her consent, as in the intake.
QUESTION_NOTES = {"source": UN_TRANSMISSION}


def missing_question(locale: str, missing: list[str], person: int, persons: int) -> str:
    """The follow-up for one person's missing elements, in her language."""
    lines = [translate(locale, QUESTIONS_HEADING)]
    if persons > 1:
        lines.append(translate(locale, "Person {number}.").format(number=person))
    for name in missing:
        lines.append(translate(locale, QUESTIONS[name]))
        if name in QUESTION_NOTES:
            lines.append(translate(locale, QUESTION_NOTES[name]))
    return "\n".join(lines)


@dataclass
class Readiness:
    person: int
    name: str
    elements: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == PRESENT for state in self.elements.values())

    @property
    def missing(self) -> list[str]:
        return [name for name, state in self.elements.items() if state != PRESENT]


def _given(value: Any) -> bool:
    return value not in (None, "", "_unknown") and not (
        isinstance(value, dict) and value.get("precision") == "unknown"
    )


def readiness(payload: dict[str, Any]) -> list[Readiness]:
    """The six elements for each detained person: present, partial or missing."""
    photos = any(item.get("kind") == "photo" for item in payload.get("evidence", []))
    consent = payload.get("consent", {})
    found = []
    for number, person in enumerate(payload.get("detainees", []), start=1):
        detained = person.get("detained") if isinstance(person.get("detained"), dict) else None
        precision = (detained or {}).get("precision")
        elements = {
            "identity": (
                PRESENT
                if _given(person.get("name")) and (_given(person.get("id_number")) or photos)
                else PARTIAL
                if _given(person.get("name"))
                else MISSING
            ),
            "date": (
                PRESENT
                if precision == "day"
                else PARTIAL
                if precision in ("month", "year")
                else MISSING
            ),
            "place": (
                PRESENT
                if _given(person.get("detained_place"))
                else PARTIAL
                if _given(person.get("held_at")) or _given(person.get("hometown"))
                else MISSING
            ),
            "forces": PRESENT if _given(person.get("perpetrators")) else MISSING,
            "steps": PRESENT if _given(person.get("steps_taken")) else MISSING,
            "source": PRESENT if consent.get("un_submission") else MISSING,
        }
        name = person.get("name") if isinstance(person.get("name"), str) else "—"
        found.append(Readiness(number, name, elements))
    return found


def _label(step: str, value: Any) -> str:
    """A value as the English draft states it (submissions go in English)."""
    if value in (None, "", UNKNOWN):
        return "unknown"
    if isinstance(value, dict) and "voice" in value:
        return "[voice message, see the evidence list]"
    return describe(step, value, "en")


# First-strong isolate … pop directional isolate: a name in any script keeps its own order
# and cannot reorder the line it is printed in.
FSI, PDI = "\u2068", "\u2069"


def isolated(name: str) -> str:
    """A name for a document: hidden characters shown, wrapped in an isolate."""
    return f"{FSI}{show_hidden(name)}{PDI}"


def latin(name: str) -> str:
    """A Latin transliteration of a name in any script (Arabic-script Kazakh via Cyrillic)."""
    return anyascii(to_cyrillic(name))


def write_draft(
    out: Path,
    case: dict[str, Any],
    person_number: int,
    *,
    code: str,
    summary: str,
    received: datetime,
    answers: list[str] | None = None,
) -> None:
    """The submission draft, in English, following the Working Group's sections."""
    consent = case.get("consent", {})
    if not consent.get("un_submission"):
        raise PermissionError(
            f"case {code}: the relative did not agree to a submission to the Working Group"
        )
    people = case.get("detainees", [])
    if not 1 <= person_number <= len(people):
        raise ValueError(f"case {code} has {len(people)} detained person(s)")
    person = people[person_number - 1]
    document = OpenDocumentText()

    def heading(text: str) -> None:
        document.text.addElement(H(outlinelevel=1, text=text))

    def line(label: str, value: str, *, name: bool = False) -> None:
        shown = isolated(value) if name else show_hidden(value)
        document.text.addElement(P(text=f"{label}: {shown}"))

    def paragraph(text: str) -> None:
        document.text.addElement(P(text=show_hidden(text)))

    document.text.addElement(
        H(
            outlinelevel=1,
            text="Draft submission to the UN Working Group "
            "on Enforced or Involuntary Disappearances",
        )
    )
    document.text.addElement(
        P(
            text=f"Aigaq case {code}, person {person_number}. "
            "Draft for the team to check before sending; "
            "nothing has been sent."
        )
    )
    heading("1. Identity of the disappeared person")
    names = [n for n in (person.get("name"), person.get("name_alt")) if isinstance(n, str)]
    for name in names:
        line("Name as written", name, name=True)
        line("Latin transliteration", latin(name), name=True)
    line("Gender", _label("gender", person.get("gender")))
    birth = person.get("birth_year")
    line("Year of birth", _label("birth_year", birth))
    line("Identity document number", _label("id_number", person.get("id_number")))
    line("Occupation", _label("occupation", person.get("occupation")))
    line("Place of origin (prefecture)", _label("hometown", person.get("hometown")))
    line("County, town or village", _label("hometown_detail", person.get("hometown_detail")))
    heading("2. Date of the arrest or abduction")
    detained = person.get("detained") if isinstance(person.get("detained"), dict) else {}
    line("Date as known", _label("detained", person.get("detained")))
    line("Precision", str((detained or {}).get("precision", "unknown")))
    urgent = is_urgent(person, received.date())
    line("Urgent procedure", "yes: less than three months before the report" if urgent else "no")
    heading("3. Place of the arrest or abduction, or where last seen")
    line("Place", _label("detained_place", person.get("detained_place")))
    line("Where held, if known", _label("held_at", person.get("held_at")))
    line("Last contact", _label("last_contact", person.get("last_contact")))
    heading("4. Forces believed responsible")
    line("Believed responsible", _label("perpetrators", person.get("perpetrators")))
    line("Reason given", _label("reason", person.get("reason")))
    heading("5. Steps taken to find the person")
    line("Steps and answers", _label("steps_taken", person.get("steps_taken")))
    heading("6. Source of the report and consent")
    testifier = case.get("testifier", {})
    line("Relation of the source to the person", _label("relation", testifier.get("relation")))
    if consent.get("un_name_disclosed") and isinstance(testifier.get("own_name"), str):
        line("Name of the source", testifier["own_name"], name=True)
    else:
        line("Name of the source", "The source requests confidentiality.")
    line("Consent", "The relative agreed that the team submits this case on her behalf.")
    if answers:
        heading("Her answers to the team's follow-up questions (her words)")
        for answer in answers:
            paragraph(answer)
    heading("Narrative summary (translated by the reviewer)")
    paragraph(summary or "[to be written by the reviewer]")
    heading("Evidence (copies; listed by SHA-256)")
    for item in case.get("attachments", []):
        document.text.addElement(
            P(text=f"{item.get('kind')}: {item.get('sha256')} ({item.get('size')} bytes)")
        )
    document.save(str(out))


ELEMENT_LABELS = {name: label for name, label in ELEMENTS}


async def draft_case(
    reviewer: Reviewer, code: str, person: int, target: Callable[[str], Path], summary: str = ""
) -> Path:
    """Write the UN Working Group draft for one person of a case (opened and audited as a
    reading), at `target(code)`; nothing is sent. One way for the console and the CLI."""
    from bot.services import audit

    opened = await reviewer.show(code)
    out = target(opened.code)
    received = datetime.fromisoformat(str(opened.payload.get("submitted_at")))
    _items, answers = await reviewer.followups.readiness(opened.code)
    write_draft(
        out,
        opened.payload,
        person,
        code=opened.code,
        summary=summary,
        received=received,
        answers=answers,
    )
    async with reviewer._sessionmaker() as session, session.begin():
        await audit.record(
            session,
            actor=reviewer.key.key_id,
            action="wgeid.draft",
            target=opened.code,
            detail={"person": person},
        )
    return out
