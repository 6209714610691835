"""One sender for every message the bot starts: notices, questions, reminders, staff alerts.

They meet Telegram's errors exactly as broadcasts do (429 waits and resends, 403 blocks,
400 fails, 5xx retries later), and the sender wakes when something is queued, not by a poll.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.crypto import RecipientPublicKey
from bot.models import (
    Account,
    Case,
    CaseStatus,
    Delivery,
    DeliveryState,
    FollowUp,
    Notice,
    Recipient,
    Role,
    utcnow,
)
from bot.sealing import Holder
from bot.services.alerts import queue_reminder, queue_staff_alert
from bot.services.contacts import seal_contact
from bot.services.followups import token_hash
from bot.services.outbox import ALERT, NOTICE, QUESTION, REMINDER
from handlers.cases import deliver_notices
from handlers.followup import deliver_questions
from handlers.outbox import send_now
from tests.harness import Harness

RELATIVE, STAFF = 7001, 7002
CODE = "K7QF-M2XD"


async def a_case(
    harness: Harness,
    *,
    consent: bool = True,
    user_id: int = RELATIVE,
    code: str = CODE,
    uid: str = "c" * 32,
) -> tuple[Any, int]:
    """A relative's submitted case with her contact sealed beside it (if she agreed), and
    her account (no chat id on it: she did not subscribe)."""
    user = harness.user(user_id=user_id, language_code="ru")
    async with harness.services.sessionmaker() as session, session.begin():
        account = Account(pseudonym=harness.services.accounts.pseudonym(user_id), locale="ru")
        session.add(account)
        await session.flush()
        holders = [
            Holder(RecipientPublicKey(r.suite, r.public_key), recipient_id=r.id)
            for r in await session.scalars(select(Recipient))
        ]
        case = Case(
            uid=uid,
            code=code,
            locale="ru",
            consent_contact=consent,
            detainee_count=1,
            contact=await seal_contact(session, uid, user_id, "ru", holders) if consent else None,
        )
        session.add(case)
        await session.flush()
        return user, case.id


async def add_notice(harness: Harness, case_id: int, status: str = "verified") -> None:
    """A reviewer's decision she is told of: sealed to the bot's delivery key."""
    del case_id  # (the decision names the case by its code)
    await harness.reviewer_tool().decisions.set_status(CODE, CaseStatus(status))


async def a_staff_member(harness: Harness) -> Any:
    await harness.services.roles.grant("cli", STAFF, Role.REVIEWER)
    user = harness.user(user_id=STAFF, language_code="en")
    await user.send_command("language")  # staff keep a chat id for alerts, and a language
    await user.press("lang:en")
    return user


async def state_of(harness: Harness, model: Any) -> str:
    async with harness.services.sessionmaker() as session:
        return str((await session.scalars(select(model.state))).one())


async def open_rows(harness: Harness) -> int:
    async with harness.services.sessionmaker() as session:
        return int(await session.scalar(select(func.count(Delivery.id))) or 0)


async def test_a_notice_and_a_question_meeting_429_wait_and_are_resent(harness: Harness) -> None:
    user, case_id = await a_case(harness)
    await add_notice(harness, case_id)
    await harness.reviewer_tool().followups.ask(CODE, "Где его задержали?")
    # More 429s than PTB's rate limiter retries (3): the outbox's own pause must take over.
    harness.api.fail("sendMessage", chat_id=RELATIVE, times=4, retry_after=1)
    assert await deliver_notices(harness.app) == 1  # type: ignore[arg-type]
    assert user.last_text == f"Дело {CODE}: подтверждено." and user.last.protect_content
    assert await state_of(harness, Notice) == "sent"
    harness.api.fail("sendMessage", chat_id=RELATIVE, times=4, retry_after=1)
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "Где его задержали?" in user.last_text and CODE in user.last_text
    async with harness.services.sessionmaker() as session:
        followup = (await session.scalars(select(FollowUp))).one()
    button = user.buttons()[-1][1]
    assert followup.token_hash == token_hash(button.removeprefix("fu:"))
    assert await state_of(harness, FollowUp) == "sent"
    assert await open_rows(harness) == 0  # sent: the rows and their blobs are gone


async def queue_one(harness: Harness, kind: str, case_id: int) -> None:
    if kind == NOTICE:
        await add_notice(harness, case_id)
    elif kind == QUESTION:
        await harness.reviewer_tool().followups.ask(CODE, "Где его задержали?")
    elif kind == ALERT:
        await queue_staff_alert(
            harness.services.outbox,
            harness.services.sessionmaker,
            code=CODE,
            people=2,
            files=3,
            urgent=True,
        )
    else:
        await queue_reminder(harness.services.outbox, RELATIVE, "ru")


@pytest.mark.parametrize("kind", [NOTICE, QUESTION, ALERT, REMINDER])
async def test_403_blocks_for_every_kind(harness: Harness, kind: str) -> None:
    _user, case_id = await a_case(harness)
    await a_staff_member(harness)
    await queue_one(harness, kind, case_id)
    chat = STAFF if kind == ALERT else RELATIVE
    harness.api.fail("sendMessage", chat_id=chat, error_code=403)
    assert await send_now(harness.app, kind) == 0  # type: ignore[arg-type]
    async with harness.services.sessionmaker() as session:
        if kind == ALERT:  # a reminder's, a notice's, a question's chat is in its blob
            account = (
                await session.scalars(
                    select(Account).where(
                        Account.pseudonym == harness.services.accounts.pseudonym(chat)
                    )
                )
            ).one()
            assert account.chat_ref is None and not account.subscribed
        if kind == NOTICE:
            assert await state_of(harness, Notice) == "failed"
        if kind == QUESTION:
            assert await state_of(harness, FollowUp) == "failed"
    assert await open_rows(harness) == 0
    assert await send_now(harness.app, kind) == 0  # never retried


async def test_400_fails_at_once_and_5xx_retries_with_backoff(harness: Harness) -> None:
    user, case_id = await a_case(harness)
    await add_notice(harness, case_id)
    harness.api.fail("sendMessage", chat_id=RELATIVE, error_code=502)
    assert await deliver_notices(harness.app) == 0  # type: ignore[arg-type]
    async with harness.services.sessionmaker() as session:
        row = (await session.scalars(select(Delivery))).one()
        assert row.state == DeliveryState.PENDING and row.attempts == 1
        assert row.next_attempt_at is not None
        wait = (row.next_attempt_at.replace(tzinfo=utcnow().tzinfo) - utcnow()).total_seconds()
        assert 0 < wait <= 1.0  # 2^0 s after the first try, 2^1 after the second…
    assert await state_of(harness, Notice) == "pending"
    harness.api.fail("sendMessage", chat_id=RELATIVE, error_code=500)
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    assert await deliver_notices(harness.app) == 0  # type: ignore[arg-type]
    async with harness.services.sessionmaker() as session:
        row = (await session.scalars(select(Delivery))).one()
        wait = (row.next_attempt_at.replace(tzinfo=utcnow().tzinfo) - utcnow()).total_seconds()
        assert row.attempts == 2 and 1.0 < wait <= 2.0
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    assert await deliver_notices(harness.app) == 1  # type: ignore[arg-type]
    assert user.last_text == f"Дело {CODE}: подтверждено."
    await add_notice(harness, case_id, "rejected")
    harness.api.fail("sendMessage", chat_id=RELATIVE, error_code=400)
    assert await deliver_notices(harness.app) == 0  # type: ignore[arg-type]
    async with harness.services.sessionmaker() as session:
        states = sorted(await session.scalars(select(Notice.state)))
    assert states == ["failed", "sent"] and await open_rows(harness) == 0


async def test_staff_alert_and_reminder_in_each_ones_language(harness: Harness) -> None:
    user, case_id = await a_case(harness)
    staff = await a_staff_member(harness)
    await queue_one(harness, ALERT, case_id)
    await queue_one(harness, REMINDER, case_id)
    assert await send_now(harness.app, ALERT) == 1  # type: ignore[arg-type]
    assert staff.last_text.startswith(f"New case {CODE}. People: 2. Files: 3.")
    assert "Urgent" in staff.last_text and staff.last.protect_content
    assert await send_now(harness.app, REMINDER) == 1  # type: ignore[arg-type]
    assert "/start" in user.last_text and "/cancel" in user.last_text


async def test_no_notice_without_consent(harness: Harness) -> None:
    user, case_id = await a_case(harness, consent=False)
    await add_notice(harness, case_id)
    assert await deliver_notices(harness.app) == 0  # type: ignore[arg-type]
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count(Notice.id))) == 0
    assert not user.messages


async def test_the_sender_wakes_when_a_notice_is_queued_and_does_not_poll(
    harness: Harness,
) -> None:
    user, case_id = await a_case(harness)
    loop = harness.services.sender_loop
    await loop.start()
    try:
        await asyncio.sleep(0.3)
        rounds, timeouts = loop.rounds, loop.timeouts
        await asyncio.sleep(1.5)
        assert loop.rounds == rounds, "an idle sender must not poll every second"
        started = time.monotonic()
        await add_notice(harness, case_id)  # any commit of a notice in this process wakes it
        for _ in range(500):
            if user.messages:
                break
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        assert user.last_text == f"Дело {CODE}: подтверждено."
        # Woken, not polled: the fallback poll is 30 s away (a loaded CI machine is slow).
        assert elapsed < 5, f"delivered after {elapsed:.2f}s"
        assert loop.woken >= 1 and loop.timeouts == timeouts
    finally:
        await loop.stop()
    assert timedelta(seconds=loop._fallback) >= timedelta(seconds=30)
