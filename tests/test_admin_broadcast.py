"""Roles, subscriptions and broadcasts: every subscriber exactly once, in her language."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.models import Account, AuditEntry, Broadcast, Delivery, DeliveryState, Role, utcnow
from bot.services.audit import verify_chain
from bot.services.outbox import Item, Outbox
from bot.services.sender import OutboxSender
from handlers.outbox import BotTransport
from tests.harness import Harness

ADMIN, REVIEWER, RELATIVE, FORMER = 900, 901, 902, 903
NOT_UNDERSTOOD = "I did not understand that"


async def make_team(harness: Harness) -> dict[int, Any]:
    roles = harness.services.roles
    await roles.grant("cli", ADMIN, Role.ADMIN)
    await roles.grant("cli", REVIEWER, Role.REVIEWER)
    await roles.grant("cli", FORMER, Role.ADMIN)
    await roles.revoke("cli", FORMER)
    return {
        uid: harness.user(user_id=uid, language_code="en")
        for uid in (ADMIN, REVIEWER, RELATIVE, FORMER)
    }


async def subscribe(harness: Harness, count: int, locales: tuple[str, ...]) -> list[Any]:
    users = []
    for index in range(count):
        user = harness.user(user_id=5000 + index, language_code=locales[index % len(locales)])
        await user.send_command("language")
        await user.press(f"lang:{locales[index % len(locales)]}")
        await user.send_command("subscribe")
        users.append(user)
    return users


def sender(harness: Harness, *, sender_id: str | None = None, lease: float = 60) -> OutboxSender:
    outbox = Outbox(
        harness.services.sessionmaker,
        harness.services.server_key,
        sender_id=sender_id,
        lease=timedelta(seconds=lease),
    )
    return OutboxSender(outbox, BotTransport(harness.app.bot), rate=1000)  # type: ignore[union-attr]


def broadcast_messages(user: Any) -> list[str]:
    return [m.text or m.caption or "" for m in user.messages if "PROTEST" in (m.text or "")]


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("grant", "reviewer 5"),
        ("revoke", "5"),
        ("team", ""),
        ("stats", ""),
        ("broadcasts", ""),
        ("broadcast", ""),
    ],
)
async def test_role_matrix(harness: Harness, command: str, args: str) -> None:
    team = await make_team(harness)
    allowed = {ADMIN}
    for uid, user in team.items():
        await user.send_command(command, args)
        refused = NOT_UNDERSTOOD in user.last_text
        assert refused == (uid not in allowed), (command, uid, user.last_text)
    async with harness.services.sessionmaker() as session:
        refusals = await session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "refused", AuditEntry.target == command
            )
        )
        assert refusals == 4 - len(allowed)
        assert (await verify_chain(session)).first_broken is None


async def test_revoked_admins_old_buttons_stop_working(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    broadcast_id = await harness.services.broadcasts.create(
        actor="cli",
        created_by=None,
        texts={"kk": "PROTEST"},
        scheduled_at=utcnow() + timedelta(days=1),
    )
    await admin.send_command("broadcasts")
    assert ("Cancel #1", f"bcancel:{broadcast_id}") in admin.buttons()
    await harness.services.roles.grant("cli", FORMER, Role.ADMIN)  # never no admin at all
    await harness.services.roles.revoke("cli", ADMIN)
    await admin.press(f"bcancel:{broadcast_id}")
    figures = await harness.services.broadcasts.figures(broadcast_id)
    assert figures is not None and figures.status == "scheduled"


async def test_grant_sets_a_role_menu_and_relatives_are_never_subscribed_by_default(
    harness: Harness,
) -> None:
    team = await make_team(harness)
    await team[ADMIN].send_command("grant", f"reviewer {RELATIVE}")
    await team[ADMIN].press(team[ADMIN].buttons()[0][1])  # "Yes, make a reviewer"
    assert "is now reviewer" in team[ADMIN].last_text
    scoped = [call for call in harness.api.calls("setMyCommands") if call.get("scope")]
    assert scoped and scoped[-1]["scope"]["chat_id"] == RELATIVE
    assert await harness.services.broadcasts.audience() == Counter()


async def test_broadcast_dialogue_preview_and_language_fallback(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    subscribers = await subscribe(harness, 6, ("kk", "ru", "en"))
    await admin.send_command("broadcast")
    await admin.send_text("PROTEST kk: ертең 11:00, консулдық алдында")
    await admin.press("bc:skip")  # no Russian text
    await admin.send_text("PROTEST en: tomorrow 11:00 at the consulate")
    await admin.press("bc:no_photo")
    preview = admin.last_text
    assert "Қазақша: 4" in preview and "English: 2" in preview
    assert "Русский" in preview  # who reads Russian gets the fallback
    await admin.press("bc:send")
    assert "is being sent to 6 subscribers" in admin.last_text
    # The bot's own sender, the one the JobQueue drives, reports progress to the admin.
    await harness.services.sender.drain()
    for user in subscribers:
        got = broadcast_messages(user)
        assert len(got) == 1
        expected = "PROTEST en" if user.language_code == "en" else "PROTEST kk"
        assert got[0].startswith(expected)
    assert any("finished" in (m.text or "") for m in admin.messages), [
        m.text for m in admin.messages
    ][-5:]


async def test_faults_every_subscriber_once_or_correctly_marked(harness: Harness) -> None:
    subscribers = await subscribe(harness, 12, ("kk",))
    chats = [user.chat_id for user in subscribers]
    api = harness.api
    api.fail("sendMessage", chat_id=chats[0], error_code=429, retry_after=1)
    api.fail("sendMessage", chat_id=chats[1], error_code=403)
    api.fail("sendMessage", chat_id=chats[2], error_code=400)
    api.fail("sendMessage", chat_id=chats[3], error_code=502)
    api.fail("sendMessage", chat_id=chats[4], error_code=None)  # a timeout
    await harness.services.broadcasts.create(
        actor="cli", created_by=None, texts={"kk": "PROTEST news"}
    )
    drainer = sender(harness)
    await drainer.drain()
    # Retries of the 5xx and the timeout come due after their backoff.
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).values(next_attempt_at=None))
    await drainer.drain()
    got = {user.chat_id: len(broadcast_messages(user)) for user in subscribers}
    assert got[chats[1]] == 0 and got[chats[2]] == 0
    assert all(got[c] == 1 for c in chats if c not in (chats[1], chats[2]))
    async with harness.services.sessionmaker() as session:
        states = dict(
            (row.account_id, row.state) for row in await session.scalars(select(Delivery))
        )
        blocked = (
            await session.scalars(select(Account).where(Account.subscribed.is_(False)))
        ).all()
    assert Counter(states.values()) == {
        DeliveryState.SENT: 10,
        DeliveryState.BLOCKED: 1,
        DeliveryState.FAILED: 1,
    }
    assert len(blocked) == 1 and blocked[0].chat_ref is None


class Crash(BaseException):
    """A kill -9 in the middle of sending: nothing after it runs."""


async def test_kill_the_sender_mid_run_and_restart_still_exactly_once(harness: Harness) -> None:
    subscribers = await subscribe(harness, 10, ("kk",))
    await harness.services.broadcasts.create(
        actor="cli", created_by=None, texts={"kk": "PROTEST once"}
    )
    first = sender(harness, sender_id="first")
    real_send = first._transport.send  # type: ignore[attr-defined]
    calls = 0

    async def dying_send(item: Item) -> int:
        nonlocal calls
        calls += 1
        message_id = await real_send(item)
        if calls == 4:
            raise Crash  # sent, but the process died before recording it
        return message_id

    first._transport.send = dying_send  # type: ignore[attr-defined]
    with pytest.raises(Crash):
        await first.drain()
    second = sender(harness, sender_id="second", lease=0)
    await second.drain()
    counts = [len(broadcast_messages(user)) for user in subscribers]
    assert all(count >= 1 for count in counts)
    assert sum(counts) - len(counts) <= 1  # at most the one message in flight
    async with harness.services.sessionmaker() as session:
        assert (
            await session.scalar(
                select(func.count(Delivery.id)).where(Delivery.state == DeliveryState.SENT)
            )
            == 10
        )


async def test_two_senders_at_once_no_duplicates(harness: Harness) -> None:
    subscribers = await subscribe(harness, 30, ("kk", "ru"))
    await harness.services.broadcasts.create(
        actor="cli", created_by=None, texts={"kk": "PROTEST kk", "ru": "PROTEST ru"}
    )
    one, two = sender(harness, sender_id="one"), sender(harness, sender_id="two")
    sent = await asyncio.gather(one.drain(), two.drain())
    assert sum(sent) == 30
    assert [len(broadcast_messages(user)) for user in subscribers] == [1] * 30


async def test_scheduled_broadcast_waits_for_its_time_and_can_be_cancelled(
    harness: Harness,
) -> None:
    subscribers = await subscribe(harness, 3, ("kk",))
    later = await harness.services.broadcasts.create(
        actor="cli",
        created_by=None,
        texts={"kk": "PROTEST later"},
        scheduled_at=utcnow() + timedelta(hours=2),
    )
    drainer = sender(harness)
    assert await drainer.drain() == 0
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == later)
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )
    assert await drainer.drain() == 3
    cancelled = await harness.services.broadcasts.create(
        actor="cli",
        created_by=None,
        texts={"kk": "PROTEST never"},
    )
    assert await harness.services.broadcasts.cancel("cli", cancelled)
    assert await drainer.drain() == 0
    assert all(len(broadcast_messages(user)) == 1 for user in subscribers)


async def test_unsubscribe_stops_news(harness: Harness) -> None:
    subscribers = await subscribe(harness, 2, ("en",))
    await subscribers[0].send_command("unsubscribe")
    assert "not receive" in subscribers[0].last_text
    await harness.services.broadcasts.create(
        actor="cli", created_by=None, texts={"en": "PROTEST one"}
    )
    await sender(harness).drain()
    assert [len(broadcast_messages(u)) for u in subscribers] == [0, 1]
