"""What someone who can write to the database changes shows: the audit log anchors every
submitted manifest, note, question and answer, and a reviewer's machine remembers the log's
head and each case it opened (bot/reviewing/memory.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from bot.crypto.intake import anchor_signed
from bot.models import (
    Attachment,
    AuditEntry,
    Case,
    CaseNote,
    CaseStatus,
    FollowUp,
    Role,
    utcday,
)
from bot.reviewing.memory import CaseChanged
from bot.sealing import seal_object
from bot.services import audit
from bot.services.alerts import queue_log_head
from bot.services.attest import attest_earlier
from bot.services.delivery import ALERT
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import PERSONS, walk_intake
from tests.test_followup import answer_button


async def two_cases(harness: Harness, first_id: int) -> tuple[str, str]:
    codes = []
    for offset in range(2):
        user = harness.user(user_id=first_id + offset, language_code="en")
        codes.append(await walk_intake(user, locale="en", persons=PERSONS[:1]))
    return codes[0], codes[1]


async def payload_of(harness: Harness, code: str) -> bytes:
    async with harness.services.sessionmaker() as session:
        payload = await session.scalar(select(Case.payload).where(Case.code == code))
    assert payload is not None
    return payload


async def set_payload(harness: Harness, code: str, payload: bytes) -> None:
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Case).where(Case.code == code).values(payload=payload))


async def rewrite_log(harness: Harness, row_id: int, detail: dict[str, Any]) -> None:
    """What a careful database writer does: change one row and recompute every hash after
    it, so that the chain verifies again from the start."""
    async with harness.services.sessionmaker() as session, session.begin():
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        previous = audit.GENESIS
        for row in rows:
            if row.id == row_id:
                row.detail = json.dumps(detail, sort_keys=True, ensure_ascii=False)
            row.prev_hash = previous
            row.hash = audit._digest(row)
            previous = row.hash
    async with harness.services.sessionmaker() as session:
        assert (await audit.verify_chain(session)).first_broken is None


async def test_every_submitted_manifest_is_anchored_and_a_moved_one_is_refused(
    harness: Harness,
) -> None:
    first, second = await two_cases(harness, 9500)
    async with harness.services.sessionmaker() as session:
        anchored = await audit.anchored(session, "case.submitted", first, "manifest")
    assert anchored == audit.anchor(await payload_of(harness, first))
    # The other case's genuine, signed manifest moved into this case's row.
    await set_payload(harness, first, await payload_of(harness, second))
    with pytest.raises(CaseChanged, match=f"case {first} is not the case that was submitted"):
        await harness.reviewer_tool().show(first)
    async with harness.services.sessionmaker() as session:
        refused = await session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "review.refused")
        )
    assert refused is not None and first in refused  # the team sees it in the log too
    # An export stops at it too, never passing it over as merely unreadable.
    with pytest.raises(CaseChanged):
        async for _case, _payload in harness.reviewer_tool().each():
            pass


async def test_a_rewritten_log_or_a_case_changed_since_she_saw_it_is_caught(
    harness: Harness,
) -> None:
    first, second = await two_cases(harness, 9600)
    tools = harness.reviewer_tool()
    await tools.show(first)  # her machine now remembers the log's head and this case
    original = await payload_of(harness, first)
    # The writer swaps the case AND rewrites its anchor, recomputing the whole chain.
    await set_payload(harness, first, await payload_of(harness, second))
    async with harness.services.sessionmaker() as session:
        anchored = (
            await session.execute(
                select(AuditEntry.id, AuditEntry.detail).where(
                    AuditEntry.action == "case.submitted", AuditEntry.target == first
                )
            )
        ).one()
    row, genuine = anchored[0], json.loads(anchored[1])
    await rewrite_log(harness, row, {"manifest": audit.anchor(await payload_of(harness, first))})
    with pytest.raises(CaseChanged, match="no longer holds the hash this machine saw"):
        await harness.reviewer_tool().show(first)
    # A writer who leaves the log alone is caught by what her machine saw first.
    await set_payload(harness, first, original)
    await rewrite_log(harness, row, genuine)
    fresh = harness.reviewer_tool()
    fresh.vouch._log_checked = True  # as if the log check had passed: the case check alone
    fresh.vouch._loaded().cases[first] = "0" * 64
    with pytest.raises(CaseChanged, match="changed since this machine first opened it"):
        await fresh.show(first)


async def test_a_deleted_audit_row_stops_her_tools(harness: Harness) -> None:
    """A row deleted from the middle breaks the chain; the rows up to the one her machine
    remembers deleted from the end leave her remembered row missing. (Rows written after
    her last run and deleted before her next one she cannot see: the daily head posted to
    staff chats is for that.)"""
    first, second = await two_cases(harness, 9700)
    await harness.reviewer_tool().show(first)
    async with harness.services.sessionmaker() as session, session.begin():
        submitted = await session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.action == "case.submitted", AuditEntry.target == second
            )
        )
        await session.execute(delete(AuditEntry).where(AuditEntry.id == submitted))
    with pytest.raises(CaseChanged, match=r"audit log was changed.*breaks at row"):
        await harness.reviewer_tool().show(first)
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id >= submitted))
    with pytest.raises(CaseChanged, match=r"audit log was changed.*no longer holds"):
        await harness.reviewer_tool().show(first)


async def test_notes_questions_and_answers_are_anchored(harness: Harness) -> None:
    user = harness.user(user_id=9800, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    other = await walk_intake(
        harness.user(user_id=9801, language_code="en"), locale="en", persons=PERSONS[:1]
    )
    tools = harness.reviewer_tool()
    await tools.decisions.set_status(code, CaseStatus.IN_REVIEW, note="On the Ili list.")
    await tools.decisions.set_status(other, CaseStatus.IN_REVIEW, note="Not on the list.")
    await tools.followups.ask(code, "Is his ID 654321198501011234?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    token = answer_button(user).removeprefix("fu:")
    await user.press(f"fu:{token}")
    await user.send_text("Yes, that is his number.")
    await user.press(f"fudone:{token}")
    assert (await tools.show(code)).notes[0]["note"] == "On the Ili list."
    assert (await tools.followups.of(code))[0]["answers"]
    sessionmaker = harness.services.sessionmaker
    async with sessionmaker() as session, session.begin():
        notes = {n.case_id: n for n in await session.scalars(select(CaseNote))}
        ids = dict((c, i) for i, c in await session.execute(select(Case.id, Case.code)))
        mine, theirs = notes[ids[code]], notes[ids[other]]
        genuine = mine.sealed_note
        mine.sealed_note = theirs.sealed_note  # another case's note, moved
    with pytest.raises(CaseChanged, match="a note of case"):
        await harness.reviewer_tool().show(code)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(CaseNote).where(CaseNote.id == mine.id).values(sealed_note=genuine)
        )
        question = (await session.scalars(select(FollowUp))).one()
        answer = (
            await session.scalars(select(Attachment).where(Attachment.followup_id == question.id))
        ).one()
        answer.followup_id = None  # her answer taken away from the question
    with pytest.raises(CaseChanged, match="an answer of case"):
        await harness.reviewer_tool().followups.of(code)


async def test_staff_chats_get_the_logs_head_every_day(harness: Harness) -> None:
    """The daily housekeeping sends the log's newest row and hash to staff chats, a copy
    outside the database; a broken chain is named instead."""
    await harness.services.roles.grant("cli", 9900, Role.REVIEWER)
    reviewer = harness.user(user_id=9900, language_code="en")
    await reviewer.send_command("language")  # staff keep a chat id for alerts
    await reviewer.press("lang:en")
    await walk_intake(
        harness.user(user_id=9901, language_code="en"), locale="en", persons=PERSONS[:1]
    )
    services = harness.services
    assert await queue_log_head(services.outbox, services.sessionmaker) == 1
    await services.sender.drain(kinds=(ALERT,))
    async with services.sessionmaker() as session:
        report = await audit.verify_chain(session)
    assert report.head is not None
    row, digest = report.head
    assert f"Audit log today: row {row}, hash {digest[:16]}" in reviewer.last_text
    async with services.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id == row - 1))
    await queue_log_head(services.outbox, services.sessionmaker)
    await services.sender.drain(kinds=(ALERT,))
    assert f"The audit log is broken at row {row}" in reviewer.last_text


async def test_a_case_inserted_into_the_database_is_flagged(harness: Harness) -> None:
    """A writer who has the reviewers' public keys can seal a whole case record of his own
    (the form cases had before signed manifests), backdate it and even append an anchor for
    it to the log (the chain has no key): no anchor signed by the bot's intake key matches,
    so her tools refuse it."""
    user = harness.user(user_id=9950, language_code="en")
    genuine = await walk_intake(user, locale="en", persons=PERSONS[:1])
    opened = await harness.reviewer_tool().show(genuine)
    record = dict(opened.payload, code="ZZZZ-9999")
    sessionmaker = harness.services.sessionmaker
    async with sessionmaker() as session, session.begin():
        case = Case(
            uid="f" * 32,
            code="ZZZZ-9999",
            status=CaseStatus.RECEIVED,
            locale="en",
            created_at=utcday() - timedelta(days=400),  # from before anchors began
        )
        session.add(case)
        await session.flush()
        case.payload = await seal_object(
            session,
            "case",
            case.uid,
            json.dumps(record, ensure_ascii=False).encode(),
            harness.services.team.holders(),
        )
    with pytest.raises(CaseChanged, match="never submitted through the bot"):
        await harness.reviewer_tool().show("ZZZZ-9999")
    async with sessionmaker() as session, session.begin():
        await audit.record(
            session,
            actor=audit.RELATIVE,
            action="case.submitted",
            target="ZZZZ-9999",
            detail={"manifest": audit.anchor(case.payload), "kind": "case", "uid": case.uid},
        )
    with pytest.raises(CaseChanged, match="is not the case that was submitted"):
        await harness.reviewer_tool().show("ZZZZ-9999")


async def test_a_note_forged_in_the_database_is_refused(harness: Harness) -> None:
    """Notes are anchored with the signing key of a reviewer in the roster: one sealed and
    inserted by a database writer, with an unsigned anchor appended, is refused."""
    user = harness.user(user_id=9960, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    tools = harness.reviewer_tool()
    await tools.decisions.set_status(code, CaseStatus.IN_REVIEW, note="Genuine note.")
    sessionmaker = harness.services.sessionmaker
    async with sessionmaker() as session, session.begin():
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        forged = await seal_object(
            session, "note", "e" * 32, b"Verified by phone.", harness.services.team.holders()
        )
        session.add(
            CaseNote(
                case_id=case.id,
                uid="e" * 32,
                reviewer=harness.reviewer.key_id,
                status="verified",
                grade=case.grade,
                sealed_note=forged,
            )
        )
        await audit.record(
            session,
            actor=harness.reviewer.key_id,
            action="case.status",
            target=code,
            detail={"note": "e" * 32, "sealed": audit.anchor(forged)},
        )
    with pytest.raises(CaseChanged, match="a note of case"):
        await harness.reviewer_tool().show(code)


async def test_what_was_sealed_before_signed_anchors_is_attested_once(
    harness: Harness, tmp_path: Any
) -> None:
    """The first start of this version signs an anchor for every case, note, question and
    set of answers already there, once (a file beside the intake key remembers it)."""
    user = harness.user(user_id=9970, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    await harness.reviewer_tool().decisions.set_status(code, CaseStatus.IN_REVIEW, note="n")
    done = tmp_path / "upgraded" / "intake.key.attested"
    done.parent.mkdir()
    signer = harness.services.cases.signer
    assert await attest_earlier(harness.services.sessionmaker, signer, done) == 2
    assert await attest_earlier(harness.services.sessionmaker, signer, done) == 0
    async with harness.services.sessionmaker() as session:
        rows = [
            json.loads(detail)
            for detail in await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "anchor.attested")
            )
        ]
        payload = await session.scalar(select(Case.payload).where(Case.code == code))
        uid = await session.scalar(select(Case.uid).where(Case.code == code))
    assert payload is not None and uid is not None
    assert sorted(row["kind"] for row in rows) == ["case", "note"]
    case_row = next(row for row in rows if row["kind"] == "case")
    assert anchor_signed(
        case_row, "case", uid, code, audit.anchor(payload), {harness.intake_fingerprint}
    )
