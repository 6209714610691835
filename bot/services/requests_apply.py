"""What each kind of reviewer request asks the bot to write, and what it checks first.

Called by bot/services/reviewer_requests.py once the request's signature, signer, team, age
and audit head hold; each function raises `Refused` before writing anything it would not
keep (and runs in a savepoint, so a late refusal leaves nothing behind). Wrapped keys name
their holder by key id, so a request made on a copy of the database applies to this one.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from bot.case import UN_ELEMENTS
from bot.choices import DOC_TYPES, attribution
from bot.models import Attachment, Case, CaseNote, CaseStatus, FollowUp, Notice
from bot.services import requests_keys
from bot.services.delivery import NOTICE, QUESTION
from bot.services.followups import token_hash as token_hash_of
from bot.services.request_writer import Refused, Writer
from bot.states import FollowUpState, Grade

# A relative who agreed to contact hears of these changes (code and status only).
TOLD = (CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)
# Audit events a reviewer's tools report, and the detail each may carry.
EVENTS: dict[str, frozenset[str]] = {
    "case.viewed": frozenset(),
    "review.refused": frozenset({"reason"}),
    "seal.refused": frozenset({"what", "reason", "fingerprint"}),
    "delivery_key.refused": frozenset({"reason", "pinned"}),
    "export": frozenset(
        {
            "exported",
            "files",
            "excluded_by_consent",
            "excluded_by_status",
            "unreadable",
            "withheld_files",
            "partner",
            "cases",
            "sha256",
        }
    ),
    "wgeid.draft": frozenset({"person"}),
}
MAX_EVENT_DETAIL = 1 << 19


def _anchor(anchor: dict[str, Any]) -> dict[str, str]:
    """The signed anchor as the log keeps it (bot/crypto/intake.py `sign_anchor`), no more."""
    return {name: str(anchor[name]) for name in ("kind", "uid", "signer", "signature")}


async def decision(w: Writer) -> None:
    """Status and grade, her sealed note, and the relative's notice if she is told."""
    case = await w.live_case()
    try:
        status = CaseStatus(w.text("status", limit=32))
    except ValueError:
        raise Refused("unknown status") from None
    if status == CaseStatus.WITHDRAWN:
        raise Refused("only the relative can withdraw a case")
    grade = w.body.get("grade")
    if grade is not None and (not isinstance(grade, str) or grade not in set(Grade)):
        raise Refused("unknown grade")
    uid = w.text("uid", limit=32)
    note, detail = w.body.get("note"), {}
    sealed_note = None
    if note is not None:
        if not isinstance(note, dict):
            raise Refused("the note cannot be read")
        sealed_note = w.blob("sealed", note)
        wrapped = w.team_keys(note, "the note")
        digest = w.check_anchor("note", uid, case.code, sealed_note, note.get("anchor"))
        w.keep("note", uid, wrapped)
        detail = {"note": uid, "sealed": digest} | _anchor(note["anchor"])
    notice = w.body.get("notice")
    message = None
    told_of = status in TOLD and case.consent_contact and case.contact is not None
    if notice is None and told_of:
        raise Refused("she agreed to hear of this change: the notice to her is missing")
    if notice is not None:
        if not told_of:
            raise Refused("the relative is not told of this change")
        plain, message = w.message(notice, case.code)
        if plain.get("status") != status.value:
            raise Refused("the notice names another status")
    case.status = status
    case.grade = Grade(grade) if grade else case.grade
    w.session.add(
        CaseNote(
            case_id=case.id,
            uid=uid,
            reviewer=w.actor,
            status=status.value,
            grade=case.grade,
            sealed_note=sealed_note,
        )
    )
    if message is not None:
        told = Notice(case_id=case.id, status=status.value)
        w.session.add(told)
        await w.session.flush()
        w.queue(case, NOTICE, told.id, message)
    await w.record("case.status", case.code, {"status": status.value, "grade": case.grade} | detail)


async def question(w: Writer) -> None:
    """A follow-up question sealed to the team, and its delivery to her."""
    case = await w.live_case()
    if not case.consent_contact or case.contact is None:
        raise Refused(f"case {case.code}: the relative did not agree to follow-up questions")
    uid = w.text("uid", limit=32)
    sealed = w.blob("sealed", w.body)
    wrapped = w.team_keys(w.body, "the question")
    digest = w.check_anchor("question", uid, case.code, sealed, w.body.get("anchor"))
    elements = _elements(w.body.get("elements"), "the question's elements")
    person = _person(w.body.get("person"), case)
    token_hash = w.text("token_hash", limit=64)
    plain, message = w.message(w.body.get("delivery"), case.code)
    if token_hash_of(str(plain.get("token", ""))) != token_hash:
        raise Refused("the answer button's token is not the one kept")
    w.keep("question", uid, wrapped)
    followup = FollowUp(
        case_id=case.id,
        uid=uid,
        asked_by=w.actor,
        person=person,
        elements=",".join(elements),
        sealed_question=sealed,
        token_hash=token_hash,
    )
    w.session.add(followup)
    await w.session.flush()
    w.queue(case, QUESTION, followup.id, message)
    before = case.status
    if before != CaseStatus.NEEDS_INFO:
        # Not a silent change: the team sees who asked and what the case was before (the
        # question reaches her; no notice of the status besides).
        case.status = CaseStatus.NEEDS_INFO
        w.session.add(
            CaseNote(
                case_id=case.id,
                uid=uid,
                reviewer=w.actor,
                status=CaseStatus.NEEDS_INFO,
                grade=case.grade,
                sealed_note=None,
            )
        )
    about = {"person": person} if person is not None else {}
    await w.record(
        "followup.asked",
        case.code,
        {"question": uid, "sealed": digest, "from": before.value}
        | about
        | _anchor(w.body["anchor"]),
    )


def _elements(value: Any, what: str) -> list[str]:
    """UN element names (bot/case.py UN_ELEMENTS), each once."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise Refused(f"{what} cannot be read")
    if set(value) - set(UN_ELEMENTS) or len(set(value)) != len(value):
        raise Refused(f"{what} are not the UN elements")
    return [name for name in UN_ELEMENTS if name in value]


def _person(value: Any, case: Case) -> int | None:
    """A detained person of this case, by number (1-based); None: about the whole case."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused("the person cannot be read")
    if not 1 <= value <= case.detainee_count:
        raise Refused(f"case {case.code} has no person {value}")
    return value


async def confirm(w: Writer) -> None:
    """A reviewer read her answer and confirms which UN elements it gives, for one person (a
    question asked before questions named a person is assigned to one here). Only confirmed
    elements count: an answer, "I don't know" included, makes nothing present by itself."""
    case = await w.case()
    uid = w.text("followup", limit=32)
    followup = await w.session.scalar(
        select(FollowUp).where(FollowUp.uid == uid, FollowUp.case_id == case.id)
    )
    if followup is None:
        raise Refused(f"case {case.code} has no question {uid}")
    if followup.state != FollowUpState.ANSWERED:
        raise Refused("the question is not answered yet")
    elements = _elements(w.body.get("elements"), "the confirmed elements")
    if "source" in elements:
        raise Refused("her consent to a submission is hers to give in the intake, not an answer")
    person = _person(w.body.get("person"), case)
    if followup.person is not None and person not in (None, followup.person):
        raise Refused(f"the question asks about person {followup.person}")
    person = followup.person if followup.person is not None else person
    if person is None and elements:
        raise Refused("say which person the answer is about")
    followup.person, followup.confirmed = person, ",".join(elements)
    await w.record(
        "followup.confirmed", case.code, {"question": uid, "person": person, "elements": elements}
    )


async def assign(w: Writer) -> None:
    """A file of the case she did not attribute, attributed by a reviewer (her signed guess,
    kept apart from the relative's words: bot/reviewing/assignments.py)."""
    case = await w.case()
    uid = w.text("file", limit=32)
    held = await w.session.scalar(
        select(Attachment.id).where(Attachment.uid == uid, Attachment.case_id == case.id)
    )
    if held is None:
        raise Refused(f"case {case.code} has no file {uid}")
    person = _person(w.body.get("person"), case)
    doc_type = w.text("doc_type", limit=32)
    if person is None or doc_type not in dict(DOC_TYPES):
        raise Refused("say which person and which kind of document")
    anchor = w.body.get("anchor")
    if not isinstance(anchor, dict):
        raise Refused("the attribution is not signed")
    w.check_signed("assignment", uid, case.code, attribution(person, doc_type), anchor)
    await w.record(
        "file.assigned",
        case.code,
        {"file": uid, "person": person, "doc_type": doc_type} | _anchor(anchor),
    )


async def link(w: Writer) -> None:
    """One case marked as a duplicate of another; both testimonies are kept."""
    case, first = await w.case(), await w.case("of")
    if case.id == first.id:
        raise Refused("a case cannot duplicate itself")
    case.duplicate_of = first.id
    await w.record("case.duplicate", case.code, {"of": first.code})


async def event(w: Writer) -> None:
    """Something her tools did or refused, for the log."""
    action = w.text("action", limit=64)
    allowed = EVENTS.get(action)
    detail = w.body.get("detail") or {}
    if allowed is None or not isinstance(detail, dict) or set(detail) - allowed:
        raise Refused(f"no such event {action}")
    if len(json.dumps(detail)) > MAX_EVENT_DETAIL or not all(
        _plain(value) for value in detail.values()
    ):
        raise Refused("the event's detail is too large or not counts and codes")
    target = w.body.get("target")
    if target is not None and (not isinstance(target, str) or len(target) > 64):
        raise Refused("the event's target cannot be read")
    await w.record(action, target, detail)


def _plain(value: Any) -> bool:
    """Counts, codes and short reasons — never more in the log."""
    if isinstance(value, list):
        return all(isinstance(item, str) and len(item) <= 32 for item in value)
    if isinstance(value, dict):  # counts by a short name
        return all(
            isinstance(name, str) and len(name) <= 32 and isinstance(count, int)
            for name, count in value.items()
        )
    if isinstance(value, str):
        return len(value) <= 200
    return value is None or isinstance(value, int | bool)


async def head(w: Writer) -> None:
    """The audit log's head her tools verified, signed: an anchor outside the bot's hands
    (the signed request stays in `reviewer_requests`)."""
    assert w.request.head is not None  # noqa: S101 - checked before any kind runs
    row, digest = w.request.head
    await w.record("audit.head", str(row), {"sha256": digest})


KINDS: dict[str, Callable[[Writer], Awaitable[None]]] = {
    "decision": decision,
    "question": question,
    "confirm": confirm,
    "link": link,
    "assign": assign,
    "rewrap": requests_keys.rewrap,
    "revoke": requests_keys.revoke,
    "event": event,
    "head": head,
}
