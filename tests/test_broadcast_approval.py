"""A large broadcast needs a second admin: one hijacked admin account cannot write to every
subscriber in the team's name alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from bot import db
from bot.cli import app
from bot.localapi import LocalBotApi
from bot.models import AuditEntry, Broadcast, Delivery, Role
from bot.services.audit import verify_chain
from tests.conftest import TestDatabase
from tests.harness import Harness, make_settings
from tests.test_admin_broadcast import broadcast_messages, subscribe

AUTHOR, SECOND, REVIEWER, RELATIVE = 910, 911, 912, 913
THRESHOLD = 3


@pytest.fixture
async def harness(database: TestDatabase, tmp_path: Path) -> AsyncIterator[Harness]:
    """The real bot, with a threshold small enough to cross with a few subscribers."""
    settings, reviewer = make_settings(tmp_path, database.url, broadcast_approval_above=THRESHOLD)
    bot = Harness(settings=settings, api=LocalBotApi(), reviewer=reviewer)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def make_team(harness: Harness) -> dict[int, Any]:
    roles = harness.services.roles
    await roles.grant("cli", AUTHOR, Role.ADMIN)
    await roles.grant("cli", SECOND, Role.ADMIN)
    await roles.grant("cli", REVIEWER, Role.REVIEWER)
    team = {
        uid: harness.user(user_id=uid, language_code="en")
        for uid in (AUTHOR, SECOND, REVIEWER, RELATIVE)
    }
    # The second admin has chosen English: she is asked in it.
    await team[SECOND].send_command("language")
    await team[SECOND].press("lang:en")
    return team


async def write_broadcast(admin: Any, text: str = "PROTEST tomorrow 11:00") -> None:
    await admin.send_command("broadcast")
    await admin.send_text(text)
    await admin.press("bc:texts_done")
    await admin.press("bc:no_photo")
    await admin.press("bc:send")


def asked_to_approve(user: Any) -> bool:
    return any(data.startswith("bapprove:") for m in user.messages for _, data in m.buttons())


async def only_broadcast(harness: Harness) -> Broadcast:
    async with harness.services.sessionmaker() as session:
        found = list(await session.scalars(select(Broadcast)))
    assert len(found) == 1
    return found[0]


async def deliveries(harness: Harness) -> int:
    async with harness.services.sessionmaker() as session:
        return int(await session.scalar(select(func.count(Delivery.id))) or 0)


async def audited(harness: Harness, action: str, target: str | None = None) -> list[AuditEntry]:
    async with harness.services.sessionmaker() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        rows = list(await session.scalars(query))
        assert (await verify_chain(session)).first_broken is None
        return rows


async def test_at_the_threshold_it_is_sent_as_before(harness: Harness) -> None:
    team = await make_team(harness)
    subscribers = await subscribe(harness, THRESHOLD, ("en",))
    await write_broadcast(team[AUTHOR])
    assert f"is being sent to {THRESHOLD} subscribers" in team[AUTHOR].last_text
    assert not asked_to_approve(team[SECOND])
    await harness.services.sender.drain()
    assert [len(broadcast_messages(user)) for user in subscribers] == [1] * THRESHOLD


async def test_above_it_nothing_goes_out_until_a_second_admin_approves(
    harness: Harness,
) -> None:
    team = await make_team(harness)
    author, second = team[AUTHOR], team[SECOND]
    subscribers = await subscribe(harness, THRESHOLD + 1, ("en", "kk"))
    await write_broadcast(author)
    assert "waits for a second admin's approval" in author.last_text
    broadcast = await only_broadcast(harness)
    assert broadcast.status == "pending_approval"
    assert await deliveries(harness) == 0
    assert await harness.services.sender.drain() == 0
    assert all(broadcast_messages(user) == [] for user in subscribers)
    # The second admin reads what she is asked to approve; reviewers are not asked.
    assert any(m.text == "PROTEST tomorrow 11:00" for m in second.messages)
    assert ("Approve", f"bapprove:{broadcast.id}") in second.buttons()
    assert not asked_to_approve(team[REVIEWER])

    await second.press(f"bapprove:{broadcast.id}")
    assert f"You approved broadcast #{broadcast.id}" in second.last_text
    assert any("Another admin approved" in (m.text or "") for m in author.messages)
    await harness.services.sender.drain()
    assert [len(broadcast_messages(user)) for user in subscribers] == [1] * (THRESHOLD + 1)
    assert len(await audited(harness, "broadcast.approved", str(broadcast.id))) == 1
    # A second press on the same (or another admin's copy of the) button changes nothing.
    await second.press(f"bapprove:{broadcast.id}", message_id=second.last.message_id)
    assert "no longer waits" in second.last_text
    await harness.services.sender.drain()
    assert [len(broadcast_messages(user)) for user in subscribers] == [1] * (THRESHOLD + 1)


async def test_the_author_cannot_approve_her_own(harness: Harness) -> None:
    team = await make_team(harness)
    author = team[AUTHOR]
    await subscribe(harness, THRESHOLD + 1, ("en",))
    await write_broadcast(author)
    broadcast = await only_broadcast(harness)
    answer = await author.press(f"bapprove:{broadcast.id}", message_id=author.last.message_id)
    assert answer is not None and "another admin must approve" in answer.get("text", "")
    assert (await only_broadcast(harness)).status == "pending_approval"
    assert await deliveries(harness) == 0
    refused = await audited(harness, "refused", "broadcast.approve")
    assert [entry.detail for entry in refused] == [
        f'{{"broadcast": {broadcast.id}, "reason": "own"}}'
    ]


@pytest.mark.parametrize("presser", [REVIEWER, RELATIVE])
async def test_a_forged_approve_from_a_reviewer_or_relative_does_nothing(
    harness: Harness, presser: int
) -> None:
    team = await make_team(harness)
    subscribers = await subscribe(harness, THRESHOLD + 1, ("en",))
    await write_broadcast(team[AUTHOR])
    broadcast = await only_broadcast(harness)
    forger = team[presser]
    await forger.send_command("start")
    before = len(forger.messages)
    answer = await forger.press(f"bapprove:{broadcast.id}", message_id=forger.last.message_id)
    assert answer is not None and "out of date" in answer.get("text", "")
    assert len(forger.messages) == before  # no message, no edit
    assert (await only_broadcast(harness)).status == "pending_approval"
    await harness.services.sender.drain()
    assert all(broadcast_messages(user) == [] for user in subscribers)
    assert len(await audited(harness, "refused", "broadcast.approve")) == 1
    assert await audited(harness, "broadcast.approved") == []


async def test_reject_cancels_it(harness: Harness) -> None:
    team = await make_team(harness)
    author, second = team[AUTHOR], team[SECOND]
    subscribers = await subscribe(harness, THRESHOLD + 1, ("en",))
    await write_broadcast(author)
    broadcast = await only_broadcast(harness)
    await second.press(f"breject:{broadcast.id}")
    assert "You rejected" in second.last_text
    assert "Another admin rejected" in author.last_text
    assert (await only_broadcast(harness)).status == "cancelled"
    await second.press(f"bapprove:{broadcast.id}", message_id=second.last.message_id)
    assert "no longer waits" in second.last_text
    await harness.services.sender.drain()
    assert all(broadcast_messages(user) == [] for user in subscribers)
    assert len(await audited(harness, "broadcast.rejected", str(broadcast.id))) == 1


async def test_a_scheduled_one_keeps_its_time_once_approved(harness: Harness) -> None:
    team = await make_team(harness)
    author, second = team[AUTHOR], team[SECOND]
    await subscribe(harness, THRESHOLD + 1, ("en",))
    await author.send_command("broadcast")
    await author.send_text("PROTEST next week")
    await author.press("bc:texts_done")
    await author.press("bc:no_photo")
    await author.press("bc:schedule")
    await author.send_text("2099-01-01 18:00")
    assert "waits for a second admin's approval" in author.last_text
    assert "scheduled for 2099-01-01 18:00" in second.last_text
    broadcast = await only_broadcast(harness)
    await second.press(f"bapprove:{broadcast.id}")
    assert (await only_broadcast(harness)).status == "scheduled"
    assert await harness.services.sender.drain() == 0


async def test_alone_an_admin_is_told_it_will_not_be_sent(harness: Harness) -> None:
    await harness.services.roles.grant("cli", AUTHOR, Role.ADMIN)
    author = harness.user(user_id=AUTHOR, language_code="en")
    await subscribe(harness, THRESHOLD + 1, ("en",))
    await write_broadcast(author)
    assert "no other admin can approve it" in author.last_text
    assert await deliveries(harness) == 0


# -- the command line: the operator on the server is trusted, but confirms -----------------


@pytest.fixture
def environment(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> TestDatabase:
    from bot.crypto import ServerKey

    key = tmp_path / "server.key"
    ServerKey.generate_file(key)
    monkeypatch.setenv("AIGAQ_DATABASE_URL", database.url)
    monkeypatch.setenv("AIGAQ_SECRET_KEY_FILE", str(key))
    monkeypatch.setenv("AIGAQ_BROADCAST_APPROVAL_ABOVE", "1")
    monkeypatch.chdir(tmp_path)
    return database


async def _add_subscriber(url: str, pseudonym: str) -> None:
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        # A bound value, not a literal: SQLite reads x'00' as bytes, PostgreSQL as a bit string.
        await connection.execute(
            text(
                "INSERT INTO accounts (pseudonym, role, subscribed, chat_ref, created_at,"
                " updated_at) VALUES (:p, 'relative', true, :chat, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            {"p": pseudonym, "chat": b"\x00"},
        )
    await engine.dispose()


def test_the_command_line_asks_for_yes_above_the_threshold(environment: TestDatabase) -> None:
    runner = CliRunner()
    asyncio.run(_add_subscriber(environment.url, "first"))
    result = runner.invoke(app, ["broadcast", "--kk", "Ертең 11:00"])
    assert result.exit_code == 0 and "queued for 1 subscribers" in result.output
    asyncio.run(_add_subscriber(environment.url, "second"))
    result = runner.invoke(app, ["broadcast", "--kk", "Ертең 11:00"])
    assert result.exit_code == 2 and "--yes" in result.output
    result = runner.invoke(app, ["broadcast", "--kk", "Ертең 11:00", "--yes"])
    assert result.exit_code == 0 and "queued for 2 subscribers" in result.output


# -- migration 0018 ------------------------------------------------------------------------


async def test_0018_downgrade_cancels_what_waits_and_restores_the_check(
    scratch_database_url: str,
) -> None:
    await db.upgrade(scratch_database_url)
    engine = db.create_engine(scratch_database_url)
    insert = text(
        "INSERT INTO broadcasts (status, texts, fallback, created_at)"
        " VALUES (:status, '{}', 'kk', CURRENT_TIMESTAMP)"
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(insert, {"status": "pending_approval"})
        await db.downgrade(scratch_database_url, "0017")
        async with engine.connect() as connection:
            status = await connection.scalar(text("SELECT status FROM broadcasts"))
            assert status == "cancelled"
        with pytest.raises(Exception, match=r"(?i)check"):
            async with engine.begin() as connection:
                await connection.execute(insert, {"status": "pending_approval"})
        await db.upgrade(scratch_database_url)
        async with engine.begin() as connection:
            await connection.execute(insert, {"status": "pending_approval"})
    finally:
        await engine.dispose()
