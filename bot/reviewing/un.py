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

from bot.choices import IDENTITY_TYPES
from bot.crypto.roster import Organisation, RosterError
from bot.i18n import N_, translate
from bot.identity import well_formed
from bot.reviewing.un_draft import FSI, PDI, consent_line, isolated, latin, write_draft
from bot.services.intake import UN_TRANSMISSION
from bot.services.urgency import urgent_case, urgent_others

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

__all__ = ["FSI", "PDI", "consent_line", "isolated", "latin", "write_draft"]

PRESENT, PARTIAL, MISSING = "present", "partial", "missing"

ELEMENTS = (
    (
        "identity",
        "Identity of the person (full name, and an ID number, or his own identity "
        "document or photo)",
    ),
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
    # An ID number counts only when it checks (bot/identity.py): a "12345" does not.
    return PRESENT if well_formed(person.get("id_number")) or photos else PARTIAL


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
    consent = payload.get("consent", {})
    found = []
    for number, person in enumerate(payload.get("detainees", []), start=1):
        # Only his own identity document or photo, as she described the file; never any
        # photo of the case, nor a file she did not attribute (bot/services/file_tags.py).
        own = [item for item in payload.get("evidence", []) if item.get("person") == number]
        documents = any(item.get("doc_type") in IDENTITY_TYPES for item in own)
        elements = {
            "identity": _identity(person, documents),
            "date": _date(person),
            "place": _place(person),
            "forces": PRESENT if _given(person.get("perpetrators")) else MISSING,
            "steps": PRESENT if _given(person.get("steps_taken")) else MISSING,
            "source": _source(consent, organisation),
        }
        name = person.get("name") if isinstance(person.get("name"), str) else "—"
        found.append(Readiness(number, name, elements, bool(consent.get("un_submission"))))
    return found


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
    _items, answers = await reviewer.followups.readiness(opened.code, person)
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
