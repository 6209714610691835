"""The UN Working Group draft: an OpenDocument text, in English, in the order of the Working
Group's sections, with one line per fact she gave about this one person (docs/un.md).

Written on the reviewer's machine by `bot.reviewing.un.draft_case`; nothing is sent.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from anyascii import anyascii
from odf.opendocument import OpenDocumentText
from odf.text import H, P

from bot import gazetteer
from bot.case import CONSENT_TEXT, EARLIER_CONSENT, UNKNOWN, describe
from bot.case_upgrade import ASKED_SINCE_2026_11
from bot.choices import DOC_TYPES
from bot.crypto.roster import Organisation
from bot.identity import id_check, pinyin
from bot.services.answers import english_date, show_hidden
from bot.services.urgency import day_of, describe_urgency
from bot.tote import to_cyrillic


def _label(step: str, value: Any) -> str:
    """A value as the English draft states it (submissions go in English)."""
    if value in (None, "", UNKNOWN):
        return "unknown"
    if isinstance(value, dict) and "voice" in value:
        return "[voice message, see the evidence list]"
    return describe(step, value, "en")


# Her answer "he is my son" (stored "son"), read both ways: who the person is to the source,
# and who the source is to the person (gender-neutral: the source may be his father).
SOURCE_IS = {
    "son": ("son", "parent"),
    "daughter": ("daughter", "parent"),
    "husband": ("husband", "spouse"),
    "wife": ("wife", "spouse"),
    "father": ("father", "child"),
    "mother": ("mother", "child"),
    "brother": ("brother", "sibling"),
    "sister": ("sister", "sibling"),
}


def relation_line(person: dict[str, Any]) -> str:
    """Who the source is to this person, said so that it cannot be read backwards."""
    value = person.get("relation")
    if value is None:
        return (
            "not asked: the case was sealed before the relation was asked for each person "
            "(ask the relative before sending)"
        )
    if isinstance(value, str) and value in SOURCE_IS:
        person_is, source_is = SOURCE_IS[value]
        return f"the source is the person's {source_is}: the person is the source's {person_is}"
    if value == "other":
        return "the source is another relative of the person"
    if value == "none":
        return "the source is not a relative of the person"
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return f"in the source's own words (who the person is to the source): {value['text']}"
    return _label("relation", value)


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


def _asked(person: dict[str, Any], field: str) -> str:
    """An answer, or "not asked" for a question added after the case was sealed."""
    if field in ASKED_SINCE_2026_11 and field not in person:
        return "not asked (the case was sealed before this question existed)"
    return _label(field, person.get(field))


def hometown_line(person: dict[str, Any]) -> str:
    """The prefecture, named by the gazetteer (English, Chinese, GB/T 2260 code)."""
    value = person.get("hometown")
    found = gazetteer.place(value) if isinstance(value, str) else None
    return found.english() if found else _label("hometown", value)


def detail_line(person: dict[str, Any]) -> str:
    """Her words for the county or village, and the gazetteer's place they name, if any."""
    value = person.get("hometown_detail")
    if isinstance(value, str) and (button := gazetteer.place(value)) is not None:
        return button.english()  # she pressed the gazetteer's button
    words = _label("hometown_detail", value)
    found = gazetteer.find(value) if isinstance(value, str) else None
    return f"{words} (gazetteer: {found.english()})" if found else words


def _identity_section(draft: _Draft, person: dict[str, Any]) -> None:
    draft.heading("1. Identity of the disappeared person")
    names = [n for n in (person.get("name"), person.get("name_alt")) if isinstance(n, str)]
    for name in names:
        draft.line("Name as written", name, name=True)
        draft.line("Latin transliteration", latin(name), name=True)
    han = person.get("name_han")
    if isinstance(han, str):
        draft.line("Name on Chinese documents", han, name=True)
        draft.line("Hanyu Pinyin (derived by the team, not her words)", pinyin(han), name=True)
    draft.line("Gender", _label("gender", person.get("gender")))
    draft.line("Year of birth", _label("birth_year", person.get("birth_year")))
    number = person.get("id_number")
    draft.line("Identity document number", _label("id_number", number))
    if isinstance(number, str):
        checked = id_check(number, person.get("birth_year"), person.get("gender"))
        draft.line("Identity number check (GB 11643)", checked)
    draft.line("Citizenship", _asked(person, "citizenship"))
    draft.line("Status in Kazakhstan", _asked(person, "kz_status"))
    draft.line("Passport or documents taken by the authorities", _asked(person, "documents_taken"))
    draft.line("Forbidden to leave China", _asked(person, "travel_ban"))
    draft.line("Occupation", _label("occupation", person.get("occupation")))
    draft.line("Place of origin (prefecture)", hometown_line(person))
    draft.line("County, town or village", detail_line(person))


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
    draft.line("Situation now", _label("status", person.get("status")))
    draft.line("Officially told where the person is held", _asked(person, "told_where"))
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


def _source_section(
    draft: _Draft, case: dict[str, Any], person: dict[str, Any], organisation: Organisation | None
) -> None:
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
    draft.line("Relation of the source to the person", relation_line(person))
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
    _source_section(draft, case, person, organisation)
    if answers:
        draft.heading("Her answers to the team's follow-up questions (her words)")
        for answer in answers:
            draft.paragraph(answer)
    draft.heading("Narrative summary (translated by the reviewer)")
    draft.paragraph(summary or "[to be written by the reviewer]")
    _evidence_section(draft, case, person_number)
    draft.document.save(str(out))


DOC_LABELS = dict(DOC_TYPES)


def _voices(answers: Any) -> list[str]:
    """The voice messages among a record's answers."""
    values = answers.values() if isinstance(answers, dict) else answers
    return [v["voice"] for v in values if isinstance(v, dict) and isinstance(v.get("voice"), str)]


def _evidence_section(draft: _Draft, case: dict[str, Any], number: int) -> None:
    """This person's files only: those she said are about him, his voice answers and her
    story's recordings. Files she did not attribute are listed apart, as nobody's; another
    person's files and her own voice answers are not listed."""
    files = {item.get("uid"): item for item in case.get("attachments", [])}
    people, evidence = case.get("detainees", []), case.get("evidence", [])
    theirs = {e.get("uid") for e in evidence if e.get("person") not in (None, number)}
    for other, answers in enumerate(people, start=1):
        theirs |= set(_voices(answers)) if other != number else set()
    theirs |= set(_voices(case.get("testifier", {})))
    mine = [e for e in evidence if e.get("person") == number]
    voices, story = _voices(people[number - 1]), _voices(case.get("narrative", []))
    listed = {e.get("uid") for e in mine} | set(voices) | set(story)

    def line(uid: Any, what: str) -> None:
        item = files.get(uid, {})
        draft.paragraph(f"{what}: {item.get('sha256')} ({item.get('size')} bytes)")

    draft.heading("Evidence about this person (copies; listed by SHA-256)")
    for item in mine:
        what = DOC_LABELS.get(item.get("doc_type"), "type not given")
        # A reviewer's attribution is the team's, never her words.
        whose = ", attributed by the team, not by the relative" if item.get("assigned_by") else ""
        line(item.get("uid"), f"{item.get('kind')} ({what}{whose})")
    for uid in voices:
        line(uid, "voice answer about this person")
    for uid in story:
        line(uid, "the relative's story, voice message")
    nobody = [a for a in files.values() if a.get("uid") not in listed | theirs]
    if nobody:
        draft.heading("Files not attributed to any person")
        draft.paragraph(
            "The relative did not say which person these files are about (or sent them before "
            "she was asked). They are not listed as this person's evidence: a reviewer checks "
            "which person each concerns before anything is sent."
        )
        for item in nobody:
            line(item.get("uid"), f"{item.get('kind')}, not attributed")
