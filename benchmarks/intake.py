"""Many relatives walking the intake at once, beside a bare PTB echo bot, in one run.

    .venv/bin/python benchmarks/intake.py [--relatives 500] [--postgres URL]
    .venv/bin/python benchmarks/intake.py --http [--runs 5] [--profile]

Prints updates/s and p50/p99 time per update for Aigaq on SQLite (and PostgreSQL if a
URL is given) and for an echo bot over the same fake Bot API; the ratio is what we track.
`--http` runs benchmarks/intake_http.py instead: the real `aigaq run` process and a bare
echo bot process over HTTP against a stand-in Bot API on 127.0.0.1, CPU per update measured
from outside (its other options are passed on).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot import db
from bot.app import TELEGRAM_RATE
from bot.localapi import LocalBotApi, make_application_builder
from tests.harness import Harness, make_settings
from tests.test_intake_dialogue import PERSONS

PHOTO = b"\xff\xd8\xff\xe0" + b"photo bytes " * 4000  # about 48 KB


class Timed:
    """Wraps process_update to time each update, and counts the CPU the run used."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.cpu_start = time.process_time()

    def wrap(self, app: Any) -> None:
        original = app.process_update

        async def timed(update: object) -> None:
            start = time.perf_counter()
            await original(update)
            self.samples.append(time.perf_counter() - start)

        app.process_update = timed


async def relative(user: Any) -> None:
    person = cast(dict[str, str], PERSONS[0])
    await user.send_command("start")
    await user.press("lang:kk")
    await user.press("i:safety:_continue")
    await user.press("i:relation:mother")
    await user.send_text("Гүлбаһрам")
    await user.press("i:residence:_skip")
    await user.send_text(person["name"])
    await user.press("i:name_alt:_skip")
    await user.press("i:name_han:_skip")
    await user.press("i:gender:male")
    await user.send_text(person["year"])
    await user.press("i:hometown:ili")
    await user.send_text(person["detail"])
    await user.send_text(person["detained"])
    await user.press("i:status:camp")
    await user.press("i:told_where:no")
    for step in ("held_at", "last_contact", "occupation", "reason", "detained_place"):
        await user.send_text(person[step])
    await user.press("i:perpetrators:police")
    await user.send_text(person["id_number"])  # the scenario's number checks: not re-asked
    for step in ("citizenship", "kz_status", "documents_taken", "travel_ban"):
        await user.press(f"i:{step}:_skip")
    await user.send_text(person["steps_taken"])
    await user.press("i:another:no")
    await user.send_text("Менің ұлым 2018 жылы ұсталды. " * 20)
    await user.press("i:narrative:_done")
    await user.send_photo(PHOTO)
    await user.press("i:evidence:_done")
    await user.press("i:consent_contact:yes")
    await user.press("i:consent_sharing:team")
    await user.press("i:consent_un:no")
    await user.press("i:subscribe:no")
    await user.press("i:summary:submit")


async def run_crowd(
    count: int, walk: Callable[[Any], Awaitable[None]], make_user: Callable[[int], Any]
) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(walk(make_user(10_000 + i)) for i in range(count)))
    return time.perf_counter() - start


def report(name: str, timed: Timed, seconds: float) -> float:
    """Print the figures; return CPU milliseconds per update (the figure we compare)."""
    cpu_ms = (time.process_time() - timed.cpu_start) * 1000 / len(timed.samples)
    samples = sorted(timed.samples)
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    rate = len(samples) / seconds
    print(
        f"{name:<28} updates={len(samples):>6}  {rate:8.1f} updates/s  "
        f"p50={p50 * 1000:8.2f} ms  p99={p99 * 1000:8.2f} ms  cpu={cpu_ms:6.2f} ms/update"
    )
    return cpu_ms


async def reset(url: str) -> None:
    """Start from an empty schema (PostgreSQL: the `public` schema is dropped and rebuilt)."""
    if url.startswith("postgresql"):
        engine = db.create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await db.upgrade(url)


async def aigaq(count: int, url: str, folder: Path, *, rate_limit: bool) -> float:
    await reset(url)
    settings, reviewer = make_settings(
        folder, url, max_messages_per_minute=1000, max_submissions_per_day=10
    )
    harness = Harness(
        settings=settings,
        api=LocalBotApi(),
        reviewer=reviewer,
        rate_limit=rate_limit,
        overall_rate=TELEGRAM_RATE,  # Telegram's pace, as the real bot keeps it
    )
    app = await harness.start()
    timed = Timed()
    timed.wrap(app)

    def make_user(user_id: int) -> Any:
        return harness.user(user_id=user_id, language_code="kk")

    seconds = await run_crowd(count, relative, make_user)
    await harness.stop()
    backend = url.split(":", 1)[0].split("+")[0]
    limiter = "with" if rate_limit else "no"
    return report(f"aigaq {backend}, {limiter} limiter", timed, seconds)


async def echo(count: int, steps: int) -> float:
    api = LocalBotApi()

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None:
            await update.effective_message.reply_text(update.effective_message.text or "ok")

    app: Application[Any, Any, Any, Any, Any, Any] = make_application_builder(api).build()
    app.add_handler(MessageHandler(filters.ALL, reply))
    await app.initialize()
    timed = Timed()
    timed.wrap(app)

    async def walk(user: Any) -> None:
        for index in range(steps):
            await user.send_text(f"message {index}")

    def make_user(user_id: int) -> Any:
        user = api.user(user_id=user_id, language_code="kk")
        user.application = app
        return user

    seconds = await run_crowd(count, walk, make_user)
    await app.shutdown()
    return report("bare PTB echo bot", timed, seconds)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--relatives", type=int, default=500)
    parser.add_argument(
        "--postgres",
        help="a database whose public schema may be dropped, e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1/test",
    )
    parser.add_argument(
        "--with-limiter",
        action="store_true",
        help="also run with PTB's AIORateLimiter (30 messages/s overall, as in production)",
    )
    args = parser.parse_args()
    print(f"{args.relatives} relatives walking the whole intake concurrently")
    with tempfile.TemporaryDirectory() as folder:
        base = await echo(args.relatives, steps=27)
        sqlite = await aigaq(
            args.relatives,
            f"sqlite+aiosqlite:///{folder}/bench.db",
            Path(folder),
            rate_limit=False,
        )
        print(f"CPU per update, aigaq/echo, SQLite: {sqlite / base:.1f}x")
        if args.postgres:
            pg_folder = Path(folder) / "pg"
            pg_folder.mkdir()
            postgres = await aigaq(args.relatives, args.postgres, pg_folder, rate_limit=False)
            print(f"CPU per update, aigaq/echo, PostgreSQL: {postgres / base:.1f}x")
        if args.with_limiter:
            limited = Path(folder) / "limited"
            limited.mkdir()
            await aigaq(
                args.relatives,
                f"sqlite+aiosqlite:///{limited}/bench.db",
                limited,
                rate_limit=True,
            )


if __name__ == "__main__":
    if "--http" in sys.argv[1:]:
        from benchmarks.intake_http import main as http_main

        http_main([arg for arg in sys.argv[1:] if arg != "--http"])
    else:
        warnings.filterwarnings("ignore", message="If 'per_message=False'")
        asyncio.run(main())
