"""A verified case asked a follow-up question: the change is recorded, seen and never silent;
her answer brings it back to the reviewers as new information, not as a decision."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.models import AuditEntry, CaseNote, CaseStatus, Notice
from bot.services.followups import NEW_INFORMATION
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.test_followup import answer_button


async def a_case(harness: Harness, user_id: int, name: str = "Ерлан Нұрғалиұлы") -> str:
    """Her case sealed as on Submit (the dialogue's own tests walk it), contact agreed."""
    draft = {
        "about": {},
        "detainees": [{"name": name, "relation": "son", "status": "camp"}],
        "narrative": [{"text": "Оны 2018 жылы түнде алып кетті."}],
        "evidence": [],
        "consent": {"consent_contact": "yes", "consent_sharing": "team"},
    }
    submitted = await harness.services.cases.submit(user_id, user_id, draft, "kk")
    return str(submitted.code)


async def audit_rows(harness: Harness, action: str) -> list[AuditEntry]:
    async with harness.services.sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_a_question_on_a_verified_case_is_recorded_and_her_answer_is_new_information(
    harness: Harness,
) -> None:
    user = harness.user(user_id=9300, language_code="kk")
    code = await a_case(harness, 9300)
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED, grade="corroborated")
    await reviewer.followups.ask(code, "Ерланның жеке куәлік нөмірін білесіз бе?")

    async with harness.services.sessionmaker() as session:
        notes = list(await session.scalars(select(CaseNote).order_by(CaseNote.id)))
    assert [n.status for n in notes] == [CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO]
    asked = notes[-1]
    # Written by the bot for the reviewer who asked, with no note of hers.
    assert asked.reviewer == harness.reviewer.key_id and asked.sealed_note is None
    assert asked.grade == "corroborated"
    (row,) = await audit_rows(harness, "followup.asked")
    assert json.loads(row.detail)["from"] == "verified"

    opened = await reviewer.show(code)
    assert opened.status == CaseStatus.NEEDS_INFO and opened.verified_before
    assert [n["kind"] for n in opened.notes] == ["decision", "question"]

    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    token = answer_button(user).removeprefix("fu:")
    await user.press(f"fu:{token}")
    await user.send_text("Иә: 654321198501011234")
    await user.press(f"fudone:{token}")

    opened = await reviewer.show(code)
    # Back with the reviewers, the earlier verification shown, not undone in silence.
    assert opened.status == CaseStatus.IN_REVIEW and opened.verified_before
    assert [e["kind"] for e in opened.events] == ["decision", "question", "new_information"]
    (event,) = await audit_rows(harness, NEW_INFORMATION)
    assert event.actor == "relative" and event.target == code
    assert json.loads(event.detail) | {"question": ""} == {
        "question": "",
        "from": "needs_info",
        "to": "in_review",
    }
    # Not a decision: no note row, and she hears of no automatic change (only the verification).
    async with harness.services.sessionmaker() as session:
        assert len(list(await session.scalars(select(CaseNote)))) == 2
        told = list(await session.scalars(select(Notice.status)))
    assert told == [CaseStatus.VERIFIED]


async def test_a_second_question_adds_no_second_status_change(harness: Harness) -> None:
    code = await a_case(harness, 9301)
    reviewer = harness.reviewer_tool()
    await reviewer.followups.ask(code, "Бірінші сұрақ?")
    await reviewer.followups.ask(code, "Екінші сұрақ?")
    async with harness.services.sessionmaker() as session:
        statuses = list(await session.scalars(select(CaseNote.status)))
    assert statuses == [CaseStatus.NEEDS_INFO]
    froms = [json.loads(r.detail)["from"] for r in await audit_rows(harness, "followup.asked")]
    assert froms == ["received", "needs_info"]
    assert not (await reviewer.show(code)).verified_before
