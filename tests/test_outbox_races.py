"""The outbox under races and removals (found in review): a question is never sent twice when
another sender drains between its end and its source's settling, and a withdrawn case or a
forgotten account leaves nothing of hers waiting to be sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bot.models import Account, Case, Delivery, utcnow
from bot.services.alerts import queue_reminder
from bot.services.outbox import QUESTION, Outbox
from bot.services.withdrawal import Withdrawn, withdraw_case
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.test_outbox_kinds import CODE, RELATIVE, a_case

OTHER = 7003


def shown(user: Any, needle: str) -> int:
    return sum(1 for m in user.messages if needle in (m.shown_text or ""))


async def _withdraw(harness: Harness, code: str) -> Withdrawn | None:
    """She withdraws the case (with her receipt code: here, straight by the case)."""
    async with harness.services.sessionmaker() as session:
        case_id = (await session.scalars(select(Case.id).where(Case.code == code))).one()
    return await withdraw_case(harness.services.sessionmaker, case_id)


async def _due_now(harness: Harness) -> None:
    """Skip the backoff a 5xx put the rows in."""
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))


async def _another_relative(harness: Harness, *, subscribed_first: bool) -> Any:
    user, _case_id = await a_case(harness, user_id=OTHER, code="ZZZZ-YYYY", uid="d" * 32)
    if subscribed_first:
        async with harness.services.sessionmaker() as session, session.begin():
            await session.execute(update(Account).where(Account.id == 1).values(subscribed=True))
    return user


async def test_a_question_is_not_sent_twice_when_another_sender_drains_meanwhile(
    harness: Harness,
) -> None:
    user, _case_id = await a_case(harness)
    await harness.reviewer_tool().followups.ask(CODE, "Где его задержали?")
    services = harness.services
    real = services.followups.mark
    other = Outbox(services.sessionmaker, services.server_key, delivery_keys=services.delivery_keys)

    async def other_sender_drains_first(session: Any, subject_id: int, *, sent: bool) -> None:
        assert await other.claim(10, (QUESTION,)) == []  # e.g. process B's drain
        await real(session, subject_id, sent=sent)

    services.outbox.settle_with(QUESTION, other_sender_drains_first)
    assert await deliver_questions(harness.app) >= 1
    services.outbox.settle_with(QUESTION, real)
    assert services.sender is not None
    await services.sender.drain(kinds=(QUESTION,))
    assert shown(user, "Где его задержали?") == 1


async def _withdraw_with_a_question_pending(harness: Harness, *, subscribed: bool) -> None:
    user1, _case = await a_case(harness)
    user2 = await _another_relative(harness, subscribed_first=subscribed)
    await harness.reviewer_tool().followups.ask(CODE, "OLD QUESTION for her")
    harness.api.fail("sendMessage", chat_id=RELATIVE, error_code=502)
    assert await deliver_questions(harness.app) == 0  # pending, in backoff
    assert await _withdraw(harness, CODE) is not None
    # The next question may take the freed id (SQLite reuses it).
    await harness.reviewer_tool().followups.ask("ZZZZ-YYYY", "NEW QUESTION for the other")
    await _due_now(harness)
    await deliver_questions(harness.app)
    await deliver_questions(harness.app)
    assert shown(user1, "OLD QUESTION") == 0
    assert shown(user2, "NEW QUESTION") == 1


async def test_a_withdrawn_cases_pending_question_never_goes_out_nor_takes_anothers(
    harness: Harness,
) -> None:
    await _withdraw_with_a_question_pending(harness, subscribed=False)


async def test_a_withdrawn_cases_pending_question_never_goes_out_even_if_subscribed(
    harness: Harness,
) -> None:
    await _withdraw_with_a_question_pending(harness, subscribed=True)


async def test_withdrawal_leaves_no_question_text_in_the_outbox(harness: Harness) -> None:
    await a_case(harness)
    await harness.reviewer_tool().followups.ask(CODE, "SECRET QUESTION TEXT")
    harness.api.fail("sendMessage", chat_id=RELATIVE, error_code=502)
    await deliver_questions(harness.app)
    await _withdraw(harness, CODE)
    async with harness.services.sessionmaker() as session:
        assert list(await session.scalars(select(Delivery))) == []


async def test_forget_drops_her_pending_reminder(harness: Harness) -> None:
    user = harness.user(user_id=RELATIVE, language_code="en")
    await user.send_command("start")
    await queue_reminder(harness.services.outbox, RELATIVE, "en")
    harness.api.fail("sendMessage", chat_id=RELATIVE, error_code=502)
    assert harness.services.sender is not None
    await harness.services.sender.drain(kinds=("reminder",))  # 5xx: pending, in backoff
    await user.send_command("forget")
    await user.press("forget:yes")
    assert user.last_text.startswith("Done")
    async with harness.services.sessionmaker() as session:
        assert list(await session.scalars(select(Delivery))) == []
    await _due_now(harness)
    await harness.services.sender.drain(kinds=("reminder",))
    assert "unsent answers will be deleted tomorrow" not in user.last_text
