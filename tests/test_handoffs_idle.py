"""The idle sender on a SQLite file: its fallback poll asks whether anyone committed anything
(one hand-off to aiosqlite's thread) and drains only then, yet still sends what another
process queued and what falls due."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiosqlite.core
import pytest

from bot import db
from bot.services.alerts import queue_staff_alert
from bot.services.sender import SenderLoop
from tests.harness import Harness
from tests.test_outbox_kinds import CODE, STAFF, a_case, a_staff_member

FALLBACK = 0.5  # seconds (the shortest wait it takes); the bot's own is 30


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many statements went to aiosqlite's threads (a list of one count)."""
    count = [0]
    original = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    yield count


@pytest.fixture
async def loop(harness: Harness) -> AsyncIterator[SenderLoop]:
    if harness.services.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL another process's rows are announced by NOTIFY")
    sender = SenderLoop(harness.services.sender, harness.services.engine, fallback=FALLBACK)
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def _from_another_process(harness: Harness) -> None:
    """A staff alert queued through an engine of its own: no event, no NOTIFY reaches the
    bot's sender, as when `aigaq` or a reviewer tool writes to the same file."""
    engine = db.create_engine(harness.services.engine.url)
    outbox = copy.copy(harness.services.outbox)
    outbox._sessionmaker = db.make_sessionmaker(engine)
    outbox.on_queued = None
    try:
        await queue_staff_alert(
            outbox, outbox._sessionmaker, code=CODE, people=1, files=0, urgent=False
        )
    finally:
        await engine.dispose()


async def _delivered(user: Any, seconds: float) -> bool:
    for _ in range(int(seconds / 0.02)):
        if any(CODE in (message.text or "") for message in user.messages):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_an_idle_fallback_poll_is_one_statement(
    harness: Harness, loop: SenderLoop, handoffs: list[int]
) -> None:
    await asyncio.sleep(3 * FALLBACK)  # the first drains see what the set-up wrote
    rounds, skipped, before = loop.rounds, loop.skipped, handoffs[0]
    await asyncio.sleep(6 * FALLBACK)
    polls = loop.skipped - skipped
    assert loop.rounds == rounds, "nothing was committed: nothing to drain"
    assert polls >= 4
    assert handoffs[0] - before == polls  # PRAGMA data_version, once a poll


async def test_what_another_process_queues_is_still_sent(
    harness: Harness, loop: SenderLoop
) -> None:
    await a_case(harness)
    staff = await a_staff_member(harness)
    await asyncio.sleep(3 * FALLBACK)
    skipped = loop.skipped
    await _from_another_process(harness)
    assert await _delivered(staff, 6 * FALLBACK)
    assert loop.skipped >= skipped


async def test_a_retry_falls_due_without_any_commit(harness: Harness, loop: SenderLoop) -> None:
    await a_case(harness)
    staff = await a_staff_member(harness)
    harness.api.fail("sendMessage", chat_id=STAFF, error_code=502, times=2)
    await asyncio.sleep(3 * FALLBACK)
    skipped = loop.skipped
    await _from_another_process(harness)
    # Two failures: it is due again a second, then two seconds later. Nothing is committed
    # while it waits, so the polls between find nothing and only the timer set for the
    # retry can drain; it is sent all the same.
    assert await _delivered(staff, 8.0)
    assert loop.skipped > skipped
