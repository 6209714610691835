"""A broadcast to many subscribers through a fake Bot API that enforces 30 messages/s.

    .venv/bin/python benchmarks/broadcast.py [--subscribers 20000] [--postgres URL]

Prints, for Aigaq's outbox sender and for the loop a hand-written PTB bot would use
(`for chat in subscribers: await bot.send_message(...)` with AIORateLimiter's defaults),
in the same run: achieved messages/s as a fraction of the limit, 429s seen, duplicates,
lost messages and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import secrets
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter

from bot import db
from bot.localapi import LocalBotApi, make_application_builder
from bot.models import Account
from tests.harness import Harness, make_settings

LIMIT = 30
FIRST_CHAT = 10_000_000


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tally(api: LocalBotApi, count: int, seconds: float, name: str) -> None:
    received = [
        sum(1 for m in api.chats.get(FIRST_CHAT + i, []) if m.from_bot) for i in range(count)
    ]
    duplicates = sum(n - 1 for n in received if n > 1)
    lost = sum(1 for n in received if n == 0)
    delivered = sum(1 for n in received if n >= 1)
    refused = sum(1 for call in api.log if call.method == "sendMessage") - sum(received)
    rate = delivered / seconds
    print(
        f"{name:<34} {rate:6.2f} msg/s = {rate / LIMIT:5.3f} of the limit  "
        f"429s={refused:<6} duplicates={duplicates:<4} lost={lost:<5} "
        f"peak RSS={peak_rss_mib():.0f} MiB  ({seconds:.0f} s)"
    )


async def reset(url: str) -> None:
    if url.startswith("postgresql"):
        engine = db.create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await db.upgrade(url)


async def aigaq(count: int, url: str, folder: Path) -> None:
    await reset(url)
    settings, reviewer = make_settings(folder, url, broadcast_rate=29.0)
    api = LocalBotApi()
    harness = Harness(settings=settings, api=api, reviewer=reviewer)
    app = await harness.start()
    key = app.services.server_key
    rows = [
        {
            "pseudonym": secrets.token_hex(32),
            "role": "relative",
            "locale": ("kk", "ru", "en")[i % 3],
            "subscribed": True,
            "chat_ref": key.encrypt(str(FIRST_CHAT + i).encode(), context="chat"),
        }
        for i in range(count)
    ]
    async with app.services.sessionmaker() as session, session.begin():
        await session.execute(insert(Account), rows)
    del rows
    await app.services.broadcasts.create(
        actor="cli",
        created_by=None,
        texts={"kk": "Ертең 11:00", "ru": "Завтра в 11:00", "en": "Tomorrow 11:00"},
    )
    api.enforce_rate(per_second=LIMIT, per_chat_per_second=1)
    api.log.clear()
    start = time.monotonic()
    sender = app.services.sender
    assert sender is not None
    while await sender.drain(budget=5.0):
        pass
    seconds = time.monotonic() - start
    tally(api, count, seconds, f"aigaq outbox ({url.split(':')[0].split('+')[0]})")
    await harness.stop()


async def naive(count: int) -> None:
    api = LocalBotApi()
    app = make_application_builder(api).rate_limiter(AIORateLimiter()).build()
    await app.initialize()
    api.enforce_rate(per_second=LIMIT, per_chat_per_second=1)
    start = time.monotonic()
    for i in range(count):
        # The kindest naive loop: it at least survives an error.
        with contextlib.suppress(TelegramError):
            await app.bot.send_message(FIRST_CHAT + i, "Tomorrow 11:00")
    seconds = time.monotonic() - start
    tally(api, count, seconds, "naive loop, AIORateLimiter()")
    await app.shutdown()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--postgres", help="a database whose public schema may be dropped")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    print(f"{args.subscribers} subscribers, fake Bot API enforcing {LIMIT} messages/s")
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            await aigaq(args.subscribers, args.postgres, Path(folder))
        else:
            await aigaq(args.subscribers, f"sqlite+aiosqlite:///{folder}/b.db", Path(folder))
    if not args.skip_naive:
        await naive(args.subscribers)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    # AIORateLimiter logs a traceback for every 429 it passes on; the figures say enough.
    logging.getLogger("telegram").setLevel(logging.CRITICAL)
    asyncio.run(main())
