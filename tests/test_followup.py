"""A reviewer asks; the question reaches her in Telegram; her answer is sealed to the case."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import CaseStatus, FollowUp, SealedKey
from bot.reviewing.cases import ReviewError
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import Consent
from tests.test_intake_dialogue import PERSONS, PHOTO_1, walk_intake


async def test_question_answer_and_back_to_the_queue(harness: Harness) -> None:
    user = harness.user(user_id=9000, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    reviewer = harness.reviewer_tool()
    await reviewer.followups.ask(code, "Ерланның жеке куәлік нөмірін білесіз бе?")
    assert (await reviewer.show(code)).status == CaseStatus.NEEDS_INFO
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "Ерланның жеке куәлік нөмірін" in user.last_text
    assert code in user.last_text and "сұрағы бар" in user.last_text
    async with harness.services.sessionmaker() as session:
        followup = (await session.scalars(select(FollowUp))).one()
        # Once sent, the bot's own key can no longer open the question.
        held_by_the_bot = await session.scalar(
            select(SealedKey.id).where(
                SealedKey.object_uid == followup.uid, SealedKey.delivery_key_id.is_not(None)
            )
        )
        assert held_by_the_bot is None
    await user.press(f"fu:{followup.id}")
    await user.press(f"fudone:{followup.id}")  # nothing given yet: asked again
    await user.send_text("Иә: 654321198501011234")
    await user.send_photo(PHOTO_1)
    await user.press(f"fudone:{followup.id}")
    assert code in user.last_text
    answers = await reviewer.followups.of(code)
    assert answers[0]["question"].startswith("Ерланның") and answers[0]["state"] == "answered"
    kinds = [a["kind"] for a in answers[0]["answers"]]
    assert kinds == ["text", "photo"]
    texts = [await reviewer.attachment(a["uid"]).read() for a in answers[0]["answers"]]
    assert texts == ["Иә: 654321198501011234".encode(), PHOTO_1]
    assert (await reviewer.show(code)).status == CaseStatus.IN_REVIEW
    other = harness.user(user_id=9001, language_code="kk")
    await other.send_command("help")
    await other.press(f"fu:{followup.id}", message_id=other.last.message_id)
    assert "fu" not in (harness.app.user_data.get(9001) or {})  # type: ignore[union-attr]


async def test_no_question_without_consent(harness: Harness) -> None:
    user = harness.user(user_id=9100, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1], consent=Consent(contact="no"))
    reviewer = harness.reviewer_tool()
    with pytest.raises(ReviewError, match="did not agree"):
        await reviewer.followups.ask(code, "Anything else?")
