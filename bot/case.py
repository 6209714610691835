"""The case record: what a relative gave, typed, with one owner.

Every answer field is in FIELDS (its part, its kind, its choices). The intake, the sealed
payload, the exports, the UN draft and the console read a case through these types, and
`describe()` is the one way a stored value becomes words for people. The sealed JSON keeps
the shape of schema version 1; `upgrade()` holds the rules for anything older or newer.

A case can be taken apart into pieces (`CasePayload.pieces()`, one path and one value each)
and put together again (`assemble`): answers sealed as they arrive make the same record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, TypeAdapter

from bot import choices, gazetteer
from bot.case_upgrade import SCHEMA_VERSION, upgrade
from bot.i18n import translate

UNKNOWN = "_unknown"

Kind = Literal["choice", "text", "name", "year", "date", "yesno"]
Part = Literal["testifier", "detainee", "consent"]
Sharing = Literal["team", "organisations", "publish_anonymous", "publish_named"]


@dataclass(frozen=True)
class FieldSpec:
    """One answer field: where it belongs, what kind of value it takes, its choices."""

    name: str
    part: Part
    kind: Kind
    options: tuple[tuple[str, str], ...] = ()


def _fields(part: Part, *specs: tuple[str, Kind] | tuple[str, Kind, Any]) -> list[FieldSpec]:
    return [FieldSpec(spec[0], part, spec[1], *spec[2:]) for spec in specs]


# In the order she is asked. A new question goes here, in its model below and in STEPS.
FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in [
        *_fields("testifier", ("own_name", "text"), ("residence", "text")),
        *_fields(
            "detainee",
            (
                "relation",
                "choice",
                choices.RELATIONS,
            ),  # asked first (person 1: before her own name)
            ("name", "name"),
            ("name_alt", "name"),
            ("name_han", "name"),  # as on Chinese documents; Pinyin derived for reviewers
            ("gender", "choice", choices.GENDERS),
            ("birth_year", "year"),
            ("hometown", "choice", choices.PREFECTURES),
            ("hometown_detail", "text"),
            ("detained", "date"),
            ("status", "choice", choices.STATUSES),
            (
                "told_where",
                "yesno",
                choices.YES_NO,
            ),  # officially told where he is held (acknowledged)
            ("held_at", "text"),
            ("last_contact", "text"),
            ("occupation", "text"),
            ("reason", "text"),
            ("detained_place", "text"),
            ("perpetrators", "choice", choices.PERPETRATORS),
            ("id_number", "text"),  # checked (bot/identity.py), kept as she wrote it
            ("citizenship", "choice", choices.CITIZENSHIPS),
            ("kz_status", "choice", choices.KZ_STATUSES),
            ("documents_taken", "yesno", choices.YES_NO),
            ("travel_ban", "yesno", choices.YES_NO),
            ("steps_taken", "text"),
        ),
        *_fields(
            "consent",
            ("consent_contact", "yesno", choices.YES_NO),
            ("consent_sharing", "choice", choices.SHARING),
            ("consent_un", "yesno", choices.YES_NO),
            ("consent_un_name", "yesno", choices.YES_NO),
            ("subscribe", "yesno", choices.YES_NO),
        ),
    ]
}
# The UN Working Group's six elements (bot/reviewing/un.py): a follow-up asks for some.
UN_ELEMENTS = ("identity", "date", "place", "forces", "steps", "source")
TESTIFIER_FIELDS = tuple(name for name, spec in FIELDS.items() if spec.part == "testifier")
DETAINEE_FIELDS = tuple(name for name, spec in FIELDS.items() if spec.part == "detainee")


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(_Value):
    voice: str  # she answered with a voice message, sealed as a file when it arrived


class Words(_Value):
    """Her own words where buttons were offered (or a piece of her story)."""

    text: str


class When(_Value):
    """A year or a date as she gave it: what was understood, how precisely, her words."""

    year: int | None
    month: int | None = None
    day: int | None = None
    precision: Literal["unknown", "decade", "approximate", "year", "month", "day"]
    text: str = ""


# A stored answer: a choice's code (or UNKNOWN), typed text, her words, a date, a voice
# message, or None when she skipped it.
Answer = When | Voice | Words | str | None


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Testifier(_Record):
    """The relative who testified. Her own name and residence never leave the team."""

    own_name: Answer = None
    residence: Answer = None


class Detainee(_Record):
    """One detained person, as she described him or her; `relation`: who he is to her."""

    relation: Answer = None
    name: Answer = None
    name_alt: Answer = None
    name_han: Answer = None
    gender: Answer = None
    birth_year: Answer = None
    hometown: Answer = None
    hometown_detail: Answer = None
    detained: Answer = None
    status: Answer = None
    told_where: Answer = None
    held_at: Answer = None
    last_contact: Answer = None
    occupation: Answer = None
    reason: Answer = None
    detained_place: Answer = None
    perpetrators: Answer = None
    id_number: Answer = None
    citizenship: Answer = None
    kz_status: Answer = None
    documents_taken: Answer = None
    travel_ban: Answer = None
    steps_taken: Answer = None
    another: str | None = None  # the dialogue's "another person?", where the draft kept it


CONSENT_TEXT = "consent-2026-11"  # the consent questions' wording (services/questions.py)
EARLIER_CONSENT = "before-consent-2026-11"  # sealed before the wording had a version


class Consent(_Record):
    """Her consent. `un_submission`: our team may submit to the Working Group (which sends the
    case to China's government); `un_name_disclosed`: her own name may go to its secretariat
    (never to the government); the wording she answered and the day she agreed (Submit)."""

    contact: bool = False
    sharing: Sharing = "team"
    subscribe: bool = False
    un_submission: bool = False
    un_name_disclosed: bool = False
    text_version: str = EARLIER_CONSENT
    agreed_on: str | None = None  # YYYY-MM-DD


class Evidence(_Record):
    """A file she sent; `person` (1-based), `doc_type` (choices.DOC_TYPES) as she said, absent
    if she did not say; `assigned_by`: set by reviewer tools when they are the team's."""

    uid: str
    kind: Literal["photo", "document", "voice", "video"]
    person: int | None = None
    doc_type: str | None = None
    assigned_by: str | None = None


class FileRef(_Record):
    """A sealed file of the case: her evidence, a voice answer, a piece of her story; with its
    provenance (caption, forward origin, message date…) from its record (bot/file_record.py)."""

    uid: str
    kind: str
    # Before revision 0012 sealed with the file list; since, reviewer tools fill them in.
    size: int | None = None
    sha256: str | None = None
    mime: str | None = None
    name: str | None = None
    caption: str | None = None
    forwarded_from: str | None = None
    forwarded_at: str | None = None
    sent_at: str | None = None
    declared_mime: str | None = None

    @classmethod
    def of(cls, attachment: Any) -> FileRef:
        """The reference to an attachment row (uid, kind); the rest is in its sealed record."""
        return cls(uid=attachment.uid, kind=attachment.kind)


class Draft(TypedDict):
    """What she has answered so far, as the dialogue keeps it (in the encrypted persistence)
    until Submit: testimony as references to sealed pieces (bot/services/manifest.py), the
    control values as they are (docs/data.md); a draft begun before revision 0015 may still
    hold answers in their JSON form (sealed at her next answer or at Submit)."""

    id: NotRequired[str]  # random: finds the plaintext this process holds (services/pieces)
    step: str
    person: int  # which detained person the questions are about now
    history: list[list[Any]]  # [step, person] pairs, for /back
    editing: str | None  # the summary part being edited, if any
    about: dict[str, Any]  # the Testifier fields
    detainees: list[dict[str, Any]]  # the Detainee fields, one dict per person
    narrative: list[dict[str, str]]  # {"text": …} or {"voice": uid}
    evidence: list[dict[str, Any]]  # {"uid", "kind"}, and "person", "doc_type" if she said
    files: NotRequired[list[str]]  # every file she sent, replaced ones too (deleted unless named)
    told_photo: NotRequired[bool]  # told once that a file keeps a photo's original
    id_rechecked: NotRequired[list[int]]  # persons whose ID number was re-asked once
    consent: dict[str, str]  # the consent questions' button values


class CasePayload(_Record):
    """The sealed case, modelled on the Xinjiang Victims Database's entries."""

    schema_version: int = SCHEMA_VERSION
    code: str
    submitted_at: str
    locale: str
    testifier: Testifier
    detainees: list[Detainee]
    narrative: list[Voice | Words] = []
    evidence: list[Evidence] = []
    attachments: list[FileRef] = []
    consent: Consent = Consent()

    @classmethod
    def from_draft(cls, code: str, locale: str, draft: Draft, files: list[FileRef]) -> CasePayload:
        """The record of what she gave in the dialogue; an answer of the wrong shape stops
        here, at Submit, not later in a reviewer's export."""
        consent, now = draft["consent"], datetime.now(UTC)
        return cls.from_json(
            {
                "schema_version": SCHEMA_VERSION,
                "code": code,
                "submitted_at": now.isoformat(timespec="seconds"),
                "locale": locale,
                "testifier": dict(draft["about"]),
                "detainees": [dict(person) for person in draft["detainees"]],
                "narrative": list(draft["narrative"]),
                "evidence": list(draft["evidence"]),
                "attachments": [file.model_dump(exclude_none=True) for file in files],
                "consent": {
                    "contact": consent.get("consent_contact") == "yes",
                    "sharing": consent.get("consent_sharing") or "team",
                    "subscribe": consent.get("subscribe") == "yes",
                    "un_submission": consent.get("consent_un") == "yes",
                    "un_name_disclosed": consent.get("consent_un_name") == "yes",
                    "text_version": CONSENT_TEXT,
                    "agreed_on": now.date().isoformat(),
                },
            }
        )

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CasePayload:
        """A payload as sealed, in any shape the upgrade rules know."""
        return cls.model_validate(upgrade(raw))

    def to_json(self) -> dict[str, Any]:
        """The JSON form that is sealed (the shape of schema version 1)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def files_named(self) -> set[str]:
        """The uids of the files the case names: voice answers, the story, the evidence."""
        named = {item.uid for item in self.evidence}
        named |= {piece.voice for piece in self.narrative if isinstance(piece, Voice)}
        for _path, value in self.pieces():
            if isinstance(value, Voice):
                named.add(value.voice)
        return named

    def pieces(self) -> Iterator[tuple[str, Answer]]:
        """Every answer she gave, one path and one value each (manifest-ready)."""
        for name in self.testifier.model_fields_set:
            yield f"testifier.{name}", getattr(self.testifier, name)
        for number, person in enumerate(self.detainees):
            for name in person.model_fields_set:
                yield f"detainees.{number}.{name}", getattr(person, name)
        for number, piece in enumerate(self.narrative):
            yield f"narrative.{number}", piece

    @classmethod
    def assemble(cls, header: dict[str, Any], pieces: Iterable[tuple[str, Any]]) -> CasePayload:
        """A payload from its header (code, dates, consent, files) and separately kept pieces."""
        raw: dict[str, Any] = {**header, "testifier": {}, "detainees": [], "narrative": []}
        for path, value in pieces:
            part, _, rest = path.partition(".")
            if part == "testifier":
                raw["testifier"][rest] = _json(value)
            elif part == "detainees":
                number, _, name = rest.partition(".")
                while len(raw["detainees"]) <= int(number):
                    raw["detainees"].append({})
                raw["detainees"][int(number)][name] = _json(value)
            elif part == "narrative":
                while len(raw["narrative"]) <= int(rest):
                    raw["narrative"].append(None)
                raw["narrative"][int(rest)] = _json(value)
            else:
                raise ValueError(f"no such piece of a case: {path}")
        return cls.from_json(raw)


def files_named_in(draft: Any) -> set[str]:
    """The uids of the files a draft or a (partial) payload names: voice answers, the story,
    the evidence. Works on the JSON form, so a payload cut down for a partner counts too."""
    if isinstance(draft, dict):
        found = {str(draft["voice"])} if isinstance(draft.get("voice"), str) else set()
        if isinstance(draft.get("uid"), str) and "kind" in draft:
            found.add(draft["uid"])
        for value in draft.values():
            found |= files_named_in(value)
        return found
    if isinstance(draft, list):
        return set().union(*(files_named_in(item) for item in draft)) if draft else set()
    return set()


def files_of_draft(draft: Any) -> set[str]:
    """Every file a draft holds: those its answers name, and those she sent and replaced."""
    sent = draft.get("files", []) if isinstance(draft, dict) else []
    return {str(uid) for uid in sent} | files_named_in(draft)


def _json(value: Any) -> Any:
    return (
        value.model_dump(mode="json", exclude_unset=True) if isinstance(value, BaseModel) else value
    )


_ANSWER: TypeAdapter[Any] = TypeAdapter(Answer)


def parse_answer(value: Any) -> Answer:
    """A stored answer (as JSON) as its type."""
    return _ANSWER.validate_python(value)


def describe(field: str, value: Any, locale: str) -> str:
    """A stored answer in words, in a language: '' if skipped, 'Unknown', a choice's label, her
    words, a date as precisely as she gave it, a gazetteer place by its name."""
    value = parse_answer(value)
    if value is None:
        return ""
    if value == UNKNOWN:
        return translate(locale, "Unknown")
    if isinstance(value, Voice):
        return translate(locale, "voice message")
    if isinstance(value, Words):
        return value.text
    if isinstance(value, When):
        return _when(value, locale)
    if field == "hometown_detail" and (place := gazetteer.place(value)) is not None:
        return place.name_in(locale)  # she pressed a county of the gazetteer
    spec = FIELDS.get(field)
    for option, label in spec.options if spec else ():
        if option == value:
            return translate(locale, label)
    return value


def _when(value: When, locale: str) -> str:
    if value.year is None:
        return translate(locale, "Unknown")
    if value.precision == "decade":
        return translate(locale, "{year}s").format(year=value.year)
    if value.precision == "approximate":
        return translate(locale, "about {year}").format(year=value.year)
    return ".".join([*(f"{n:02d}" for n in (value.day, value.month) if n), str(value.year)])
