"""What the bot costs when nobody writes to it: the real application, idle, for a while.

    .venv/bin/python benchmarks/idle.py [--seconds 10] [--postgres URL]

Runs the whole Application (getUpdates long polling against the fake Bot API, the job
queue, the outbox sender) on a migrated database and prints the CPU seconds the process
used while idle. Measured, not asserted: compare the figure before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import db
from bot.localapi import LocalBotApi
from tests.harness import Harness, make_settings


async def idle(url: str, seconds: float, folder: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of `seconds` of an idle, running bot."""
    settings, reviewer = make_settings(folder, url)
    harness = Harness(settings=settings, api=LocalBotApi(), reviewer=reviewer)
    app = await harness.start()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=10)
    await asyncio.sleep(1.0)  # start-up work is not idle time
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    used, elapsed = time.process_time() - cpu, time.perf_counter() - wall
    await app.updater.stop()
    await app.stop()
    await harness.stop()
    return used, elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--postgres", help="postgresql+asyncpg://… (its schema is migrated)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite+aiosqlite:///{folder}/idle.db"
        await db.upgrade(url)
        used, elapsed = await idle(url, args.seconds, Path(folder))
    backend = "postgresql" if args.postgres else "sqlite"
    print(
        f"{backend}: {used:.3f} CPU s in {elapsed:.1f} s idle "
        f"({1000 * used / elapsed:.2f} ms of CPU per second)"
    )


if __name__ == "__main__":
    asyncio.run(main())
