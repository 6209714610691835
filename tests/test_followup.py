"""A reviewer asks; the question reaches her in Telegram through a blob sealed to the bot's
delivery key; her answer, matched by the button's random token, is sealed to the case."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.models import Account, Attachment, Case, CaseStatus, Delivery, FollowUp, SealedKey, utcnow
from bot.reviewing.cases import ReviewError
from bot.services.followups import token_hash
from bot.services.withdrawal import withdraw_case
from handlers.followup import deliver_questions
from tests.conftest import TestDatabase
from tests.harness import Harness
from tests.scenario import Consent
from tests.seizure import Relative, hits, seize
from tests.test_intake_dialogue import PERSONS, PHOTO_1, walk_intake

CLOSED_KK = "Бұл сұрақ жабылды"
CLOSED_EN = "This question is closed"


def answer_button(user: Any) -> str:
    """The callback data of the newest Answer button in her chat."""
    found = [data for m in user.messages for _text, data in m.buttons() if data.startswith("fu:")]
    assert found, "no Answer button reached her"
    return found[-1]


async def count(harness: Harness, query: Any) -> int:
    async with harness.services.sessionmaker() as session:
        return int(await session.scalar(query) or 0)


async def withdraw(harness: Harness, code: str) -> None:
    """The case is withdrawn (by her receipt, or by the team at her request: the same)."""
    async with harness.services.sessionmaker() as session:
        case_id = (await session.scalars(select(Case.id).where(Case.code == code))).one()
    assert await withdraw_case(harness.services.sessionmaker, case_id) is not None


async def asked(harness: Harness, user_id: int, locale: str = "kk") -> tuple[Any, str]:
    """Her case, and a question on it that reached her; returns her and the case code."""
    user = harness.user(user_id=user_id, language_code=locale)
    code = await walk_intake(user, locale=locale, persons=PERSONS[:1])
    await harness.reviewer_tool().followups.ask(code, "Ерланның жеке куәлік нөмірін білесіз бе?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    return user, code


async def test_question_answer_and_back_to_the_queue(harness: Harness) -> None:
    user = harness.user(user_id=9000, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    reviewer = harness.reviewer_tool()
    await reviewer.followups.ask(code, "Ерланның жеке куәлік нөмірін білесіз бе?")
    assert (await reviewer.show(code)).status == CaseStatus.NEEDS_INFO
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "Ерланның жеке куәлік нөмірін" in user.last_text
    assert code in user.last_text and "сұрағы бар" in user.last_text
    button = answer_button(user)
    token = button.removeprefix("fu:")
    assert len(token) == 22  # 128 random bits, base64url
    async with harness.services.sessionmaker() as session:
        followup = (await session.scalars(select(FollowUp))).one()
        # The server keeps only the token's SHA-256, and no copy of the question it can open.
        assert followup.token_hash == token_hash(token) and token not in str(followup.__dict__)
        held_by_the_bot = await session.scalar(
            select(SealedKey.id).where(SealedKey.delivery_key_id.is_not(None))
        )
        assert held_by_the_bot is None
    await user.press(button)
    await user.press(f"fudone:{token}")  # nothing given yet: asked again
    await user.send_text("Иә: 654321198501011234")
    await user.send_photo(PHOTO_1)
    await user.press(f"fudone:{token}")
    assert code in user.last_text
    answers = await reviewer.followups.of(code)
    assert answers[0]["question"].startswith("Ерланның") and answers[0]["state"] == "answered"
    kinds = [a["kind"] for a in answers[0]["answers"]]
    assert kinds == ["text", "photo"]
    texts = [await reviewer.attachment(a["uid"]).read() for a in answers[0]["answers"]]
    assert texts == ["Иә: 654321198501011234".encode(), PHOTO_1]
    assert (await reviewer.show(code)).status == CaseStatus.IN_REVIEW
    # Done killed the token.
    assert await count(harness, select(func.count()).where(FollowUp.token_hash.is_not(None))) == 0


async def test_no_question_without_consent(harness: Harness) -> None:
    user = harness.user(user_id=9100, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1], consent=Consent(contact="no"))
    reviewer = harness.reviewer_tool()
    with pytest.raises(ReviewError, match="did not agree"):
        await reviewer.followups.ask(code, "Anything else?")
    assert await count(harness, select(func.count(Delivery.id))) == 0


async def test_her_chat_id_is_only_in_the_pending_blob_and_gone_once_sent(
    harness: Harness, database: TestDatabase
) -> None:
    user = harness.user(user_id=5_830_119_101, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    her = Relative("asked", user.user_id, "Test")

    async def chat_ids() -> set[tuple[str, str]]:
        seized = await seize(database.url, harness.settings.secret_key_file)
        # (Her Telegram id as PTB's key of her dialogue, her pseudonym and the account link
        # are other rows of docs/data.md's table; here: where her chat can be read.)
        return {
            (h.finding.where, h.finding.how)
            for h in hits(seized, [her])
            if h.finding.fact == "chat id"
        }

    # Submitted with contact consent: no chat id of hers on her account, in the clear or
    # under the server key; her contact is sealed to the reviewers.
    async with harness.services.sessionmaker() as session:
        assert all(a.chat_ref is None for a in await session.scalars(select(Account)))
    assert await chat_ids() == set()
    await harness.reviewer_tool().followups.ask(code, "Қашан ұсталды?")
    # Waiting: the blob sealed to the bot's delivery key (on the server) names her chat.
    assert await chat_ids() == {("deliveries.sealed", "delivery key")}
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "Қашан ұсталды?" in user.last_text
    assert await chat_ids() == set()
    delivery_keys = select(func.count()).where(SealedKey.kind == "delivery")
    assert await count(harness, select(func.count(Delivery.id))) == 0
    assert await count(harness, delivery_keys) == 0
    # Nor in the raw file, its WAL or freed pages.
    seized = await seize(database.url, harness.settings.secret_key_file)
    assert seized.raw is not None and str(user.user_id).encode() not in seized.raw


async def test_a_question_that_fails_for_good_leaves_no_blob_and_no_live_token(
    harness: Harness,
) -> None:
    user = harness.user(user_id=9200, language_code="ru")
    code = await walk_intake(user, locale="ru", persons=PERSONS[:1])
    await harness.reviewer_tool().followups.ask(code, "Где его задержали?")
    harness.api.fail("sendMessage", chat_id=user.user_id, error_code=400)
    assert await deliver_questions(harness.app) == 0  # type: ignore[arg-type]
    async with harness.services.sessionmaker() as session:
        followup = (await session.scalars(select(FollowUp))).one()
        assert followup.state == "failed" and followup.token_hash is None
    assert await count(harness, select(func.count(Delivery.id))) == 0
    assert await count(harness, select(func.count()).where(SealedKey.kind == "delivery")) == 0
    # The reviewer sees it failed.
    assert (await harness.reviewer_tool().followups.of(code))[0]["state"] == "failed"


async def test_a_forged_token_is_refused_in_her_language(harness: Harness) -> None:
    user, _code = await asked(harness, 9300)
    forged = f"fu:{secrets.token_urlsafe(16)}"
    await user.press(forged, message_id=user.last.message_id)
    assert CLOSED_KK in user.last_text
    other = harness.user(user_id=9301, language_code="en")
    await other.send_command("help")
    await other.press("fu:1", message_id=other.last.message_id)  # a row id is no token
    assert CLOSED_EN in other.last_text
    assert "followup" not in (harness.app.user_data.get(9301) or {})  # type: ignore[union-attr]


async def test_an_expired_token_is_refused_then_purged(harness: Harness) -> None:
    user, _code = await asked(harness, 9400)
    days = harness.settings.answer_token_days
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(FollowUp).values(created_at=utcnow() - timedelta(days=days, minutes=1))
        )
    await user.press(answer_button(user))
    assert CLOSED_KK in user.last_text and str(days) in user.last_text
    purged = await harness.services.retention.purge()
    assert purged.answer_tokens == 1
    assert await count(harness, select(func.count()).where(FollowUp.token_hash.is_not(None))) == 0


async def test_a_token_after_done_is_refused(harness: Harness) -> None:
    user, _code = await asked(harness, 9500)
    button = answer_button(user)
    await user.press(button)
    await user.send_text("Жоқ, білмеймін.")
    await user.press(f"fudone:{button.removeprefix('fu:')}")
    await user.press(button)
    assert CLOSED_KK in user.last_text
    await user.send_text("Тағы бір нәрсе")  # not taken as an answer
    async with harness.services.sessionmaker() as session:
        followup = (await session.scalars(select(FollowUp))).one()
        assert followup.state == "answered"


async def test_a_withdrawn_cases_question_token_is_dead(harness: Harness) -> None:
    user, code = await asked(harness, 9600)
    button = answer_button(user)
    await withdraw(harness, code)
    assert await count(harness, select(func.count(FollowUp.id))) == 0  # the hash went with it
    await user.press(button)
    assert CLOSED_KK in user.last_text


async def test_an_answer_started_before_withdrawal_is_not_kept(harness: Harness) -> None:
    user, code = await asked(harness, 9700)
    await user.press(answer_button(user))
    await withdraw(harness, code)
    await user.send_text("Иә, білемін: 654321198501011234")
    assert user.last_text == "Бұл сұрақ жабылған, сондықтан бұл жауап сақталмады."
    assert await count(harness, select(func.count(Attachment.id))) == 0
