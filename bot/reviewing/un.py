"""UN-ready cases: the Working Group on Enforced or Involuntary Disappearances' six minimum
elements, checked per detained person, the urgent-procedure flag, and the draft submission.

Runs on the reviewer's machine. Nothing is sent anywhere: the draft is an OpenDocument file
for the team to check, complete and send themselves (docs/un.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyascii import anyascii
from odf.opendocument import OpenDocumentText
from odf.text import H, P

from bot.case import CONSENT_TEXT, EARLIER_CONSENT, UNKNOWN, describe
from bot.crypto.roster import Organisation, RosterError
from bot.i18n import N_, translate
from bot.services.answers import english_date, show_hidden
from bot.services.intake import UN_TRANSMISSION
from bot.services.urgency import day_of, describe_urgency, urgent_case, urgent_others
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
        "May our team send your case to the UN Working Group on Enforced or Involuntary "
        "Disappearances? And, as a separate answer: may your own name be given to the Working "
        "Group's secretariat (it never passes it on to the Chinese government)?"
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
    # She agreed to a submission: what "source" still lacks then is the team's (the submitting
    # organisation in the signed roster), not a question for her.
    consented: bool = False

    @property
    def ready(self) -> bool:
        return all(state == PRESENT for state in self.elements.values())

    @property
    def missing(self) -> list[str]:
        """The elements she can still give."""
        return [
            name
            for name, state in self.elements.items()
            if state != PRESENT and not (name == "source" and self.consented)
        ]


def _given(value: Any) -> bool:
    return value not in (None, "", "_unknown") and not (
        isinstance(value, dict) and value.get("precision") == "unknown"
    )


def _identity(person: dict[str, Any], photos: bool) -> str:
    if not _given(person.get("name")):
        return MISSING
    return PRESENT if _given(person.get("id_number")) or photos else PARTIAL


def _date(person: dict[str, Any]) -> str:
    detained = person.get("detained")
    precision = detained.get("precision") if isinstance(detained, dict) else None
    return PRESENT if precision == "day" else PARTIAL if precision in ("month", "year") else MISSING


def _place(person: dict[str, Any]) -> str:
    if _given(person.get("detained_place")):
        return PRESENT
    return PARTIAL if _given(person.get("held_at")) or _given(person.get("hometown")) else MISSING


def _source(consent: dict[str, Any], organisation: Organisation | None) -> str:
    """Element (f): who submits, with her consent. Her consent alone is partial: the
    organisation that submits must be named too (from the team's signed roster)."""
    if not consent.get("un_submission"):
        return MISSING
    return PRESENT if organisation is not None and organisation.name else PARTIAL


def readiness(payload: dict[str, Any], organisation: Organisation | None = None) -> list[Readiness]:
    """The six elements for each detained person: present, partial or missing. Without
    the submitting `organisation` (the signed roster's), "source" is at most partial."""
    photos = any(item.get("kind") == "photo" for item in payload.get("evidence", []))
    consent = payload.get("consent", {})
    found = []
    for number, person in enumerate(payload.get("detainees", []), start=1):
        elements = {
            "identity": _identity(person, photos),
            "date": _date(person),
            "place": _place(person),
            "forces": PRESENT if _given(person.get("perpetrators")) else MISSING,
            "steps": PRESENT if _given(person.get("steps_taken")) else MISSING,
            "source": _source(consent, organisation),
        }
        name = person.get("name") if isinstance(person.get("name"), str) else "—"
        found.append(Readiness(number, name, elements, bool(consent.get("un_submission"))))
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


class _Draft:
    """The OpenDocument being written: headings, "label: value" lines, paragraphs."""

    def __init__(self) -> None:
        self.document = OpenDocumentText()

    def heading(self, text: str) -> None:
        self.document.text.addElement(H(outlinelevel=1, text=text))

    def line(self, label: str, value: str, *, name: bool = False) -> None:
        shown = isolated(value) if name else show_hidden(value)
        self.document.text.addElement(P(text=f"{label}: {shown}"))

    def paragraph(self, text: str) -> None:
        self.document.text.addElement(P(text=show_hidden(text)))


def _identity_section(draft: _Draft, person: dict[str, Any]) -> None:
    draft.heading("1. Identity of the disappeared person")
    names = [n for n in (person.get("name"), person.get("name_alt")) if isinstance(n, str)]
    for name in names:
        draft.line("Name as written", name, name=True)
        draft.line("Latin transliteration", latin(name), name=True)
    draft.line("Gender", _label("gender", person.get("gender")))
    draft.line("Year of birth", _label("birth_year", person.get("birth_year")))
    draft.line("Identity document number", _label("id_number", person.get("id_number")))
    draft.line("Occupation", _label("occupation", person.get("occupation")))
    draft.line("Place of origin (prefecture)", _label("hometown", person.get("hometown")))
    draft.line("County, town or village", _label("hometown_detail", person.get("hometown_detail")))


def _date_section(draft: _Draft, person: dict[str, Any], made: date, linked: list[str]) -> None:
    draft.heading("2. Date of the arrest or abduction")
    given = person.get("detained")
    detained: dict[str, Any] = given if isinstance(given, dict) else {}
    draft.line("Date", english_date(detained))
    if detained.get("text"):
        draft.line("Her words", str(detained["text"]), name=True)
    draft.line("Precision", str(detained.get("precision") or "unknown"))
    draft.line("Urgent procedure", describe_urgency(person, made, linked))


def _events_sections(draft: _Draft, person: dict[str, Any]) -> None:
    draft.heading("3. Place of the arrest or abduction, or where last seen")
    draft.line("Place", _label("detained_place", person.get("detained_place")))
    draft.line("Where held, if known", _label("held_at", person.get("held_at")))
    draft.line("Last contact", _label("last_contact", person.get("last_contact")))
    draft.heading("4. Forces believed responsible")
    draft.line("Believed responsible", _label("perpetrators", person.get("perpetrators")))
    draft.line("Reason given", _label("reason", person.get("reason")))
    draft.heading("5. Steps taken to find the person")
    draft.line("Steps and answers", _label("steps_taken", person.get("steps_taken")))


def consent_line(case: dict[str, Any]) -> str:
    """Her consent to the submission, with the day and the version of the text she read."""
    consent = case.get("consent", {})
    agreed = consent.get("agreed_on") or str(case.get("submitted_at", ""))[:10]
    on = f" on {day_of(date.fromisoformat(agreed))}" if agreed else ""
    said = f"The relative agreed{on} that our team submits this case"
    version = consent.get("text_version", EARLIER_CONSENT)
    if version == EARLIER_CONSENT:
        return (
            f"{said}, under the consent text used before {CONSENT_TEXT} (it did not yet "
            "mention the prompt-intervention procedure): confirm with her before sending."
        )
    return f"{said} (consent text {version})."


def _source_section(draft: _Draft, case: dict[str, Any], organisation: Organisation | None) -> None:
    draft.heading("6. Source of the report and consent")
    if organisation is not None and organisation.name:
        draft.line("Submitting organisation", organisation.name)
        draft.line("Address", organisation.address or "[to be completed]")
        draft.line("Contact person", organisation.contact or "[to be completed]")
        draft.line("E-mail", organisation.email or "[to be completed]")
    else:
        draft.line(
            "Submitting organisation",
            "[not in the team's signed roster: add its name, address, e-mail and contact "
            "person to the roster before sending]",
        )
    consent, testifier = case.get("consent", {}), case.get("testifier", {})
    draft.line(
        "Relation of the source to the person", _label("relation", testifier.get("relation"))
    )
    if consent.get("un_name_disclosed") and isinstance(testifier.get("own_name"), str):
        draft.line("Name of the source", testifier["own_name"], name=True)
        draft.line(
            "Confidentiality",
            "The relative's name is for the Working Group's secretariat only; "
            "it is not to be transmitted to the government.",
        )
    else:
        draft.line("Name of the source", "The source requests confidentiality.")
    draft.line("Consent", consent_line(case))
    draft.line("Date of submission", "____________________")
    draft.line("Signature for the submitting organisation", "____________________")


def write_draft(
    out: Path,
    case: dict[str, Any],
    person_number: int,
    *,
    code: str,
    summary: str,
    received: datetime,
    answers: list[str] | None = None,
    made: date | None = None,
    organisation: Organisation | None = None,
    linked: list[str] | None = None,
) -> None:
    """The submission draft, in English, following the Working Group's sections; urgency as
    of `made` (today), the submitting organisation from the signed roster, `linked`: cases or
    persons linked to this one that are under the urgent procedure."""
    if not case.get("consent", {}).get("un_submission"):
        raise PermissionError(
            f"case {code}: the relative did not agree to a submission to the Working Group"
        )
    people = case.get("detainees", [])
    if not 1 <= person_number <= len(people):
        raise ValueError(f"case {code} has {len(people)} detained person(s)")
    person = people[person_number - 1]
    draft = _Draft()
    draft.heading(
        "Draft submission to the UN Working Group on Enforced or Involuntary Disappearances"
    )
    draft.paragraph(
        f"Aigaq case {code}, person {person_number}, testimony received on "
        f"{day_of(received.date())}. Draft for the team to check before sending; "
        "nothing has been sent."
    )
    _identity_section(draft, person)
    _date_section(draft, person, made or date.today(), linked or [])
    _events_sections(draft, person)
    _source_section(draft, case, organisation)
    if answers:
        draft.heading("Her answers to the team's follow-up questions (her words)")
        for answer in answers:
            draft.paragraph(answer)
    draft.heading("Narrative summary (translated by the reviewer)")
    draft.paragraph(summary or "[to be written by the reviewer]")
    draft.heading("Evidence (copies; listed by SHA-256)")
    for item in case.get("attachments", []):
        draft.paragraph(f"{item.get('kind')}: {item.get('sha256')} ({item.get('size')} bytes)")
    draft.document.save(str(out))


ELEMENT_LABELS = {name: label for name, label in ELEMENTS}


async def submitting_organisation(reviewer: Reviewer) -> Organisation | None:
    """The submitting organisation, from the team's roster as her tools verified it (never
    from a database setting); None while there is no roster or it names none."""
    from bot.reviewing.cases import ReviewError
    from bot.reviewing.roster_pin import NoRosterYet

    pin = reviewer.team.roster_pin
    if pin is None:
        return None
    try:
        roster = await pin.verified(reviewer._sessionmaker)
    except NoRosterYet:
        return None
    except RosterError as exc:
        raise ReviewError(f"the team roster cannot be trusted: {exc}") from None
    return roster.organisation if roster.organisation.name else None


async def _linked_urgent_case(reviewer: Reviewer, original: str | None, made: date) -> list[str]:
    """The case this one duplicates, if it is under the urgent procedure on `made`."""
    from bot.reviewing.cases import ReviewError

    if original is None:
        return []
    try:
        linked = await reviewer.opened(original)
    except ReviewError:
        return []  # sealed to other keys: the reviewer checks it herself
    return [f"case {original}"] if urgent_case(linked.payload, made) else []


async def draft_case(
    reviewer: Reviewer, code: str, person: int, target: Callable[[str], Path], summary: str = ""
) -> Path:
    """Write the UN Working Group draft for one person of a case (opened and audited as a
    reading), at `target(code)`; nothing is sent. One way for the console and the CLI."""
    opened = await reviewer.show(code)
    out = target(opened.code)
    made = date.today()
    _items, answers = await reviewer.followups.readiness(opened.code)
    linked = urgent_others(opened.payload, person, made)
    linked += await _linked_urgent_case(reviewer, opened.duplicate_of, made)
    write_draft(
        out,
        opened.payload,
        person,
        code=opened.code,
        summary=summary,
        received=datetime.fromisoformat(str(opened.payload.get("submitted_at"))),
        answers=answers,
        made=made,
        organisation=await submitting_organisation(reviewer),
        linked=linked,
    )
    await reviewer.requests.event("wgeid.draft", opened.code, person=person)
    return out
