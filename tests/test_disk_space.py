"""A disk filling up: `aigaq doctor` fails, and staff are told once in their language."""

from __future__ import annotations

from typing import Any

from bot.doctor import run_checks
from bot.models import Role
from bot.services.outbox import ALERT
from tests.harness import Harness

HUGE = 10**9  # MB: more than any test machine has free
ADMIN, REVIEWER = 7700, 7701
FULL_EN = "The server's disk is almost full"
FULL_KK = "Сервердің дискісі толуға жақын"


async def test_doctor_fails_when_the_disk_has_less_free_space_than_the_setting(
    harness: Harness,
) -> None:
    checks = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    assert checks["disk"].ok and "MB free" in checks["disk"].detail
    low = harness.settings.model_copy(update={"min_free_disk_mb": HUGE})
    checks = {c.name: c for c in await run_checks(low, request=harness.api)}
    assert not checks["disk"].ok
    assert f"AIGAQ_MIN_FREE_DISK_MB={HUGE}" in checks["disk"].detail
    # The database's folder on SQLite; on PostgreSQL (its disk is on its host) the bot's own
    # delivery-key folder, inside the same test folder.
    assert f"on the disk of {harness.settings.secret_key_file.parent}" in checks["disk"].detail
    off = harness.settings.model_copy(update={"min_free_disk_mb": 0})
    checks = {c.name: c for c in await run_checks(off, request=harness.api)}
    assert checks["disk"].ok


async def staff(harness: Harness) -> dict[int, Any]:
    await harness.services.roles.grant("cli", ADMIN, Role.ADMIN)
    await harness.services.roles.grant("cli", REVIEWER, Role.REVIEWER)
    people = {}
    for uid, locale in ((ADMIN, "kk"), (REVIEWER, "en")):
        people[uid] = harness.user(user_id=uid, language_code=locale)
        await people[uid].send_command("language")
        await people[uid].press(f"lang:{locale}")
    return people


def told(user: Any, words: str) -> int:
    return sum(words in (m.text or "") for m in user.messages)


async def test_staff_are_told_once_not_every_round(harness: Harness) -> None:
    people = await staff(harness)
    app = harness.app
    assert app is not None and app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name("disk space")
    services = harness.services

    async def round_() -> None:
        await job.run(app)
        await services.sender.drain(kinds=(ALERT,))

    await round_()  # plenty of room: nothing said
    assert told(people[REVIEWER], FULL_EN) == 0
    services.settings.min_free_disk_mb = HUGE
    for _ in range(3):
        await round_()
    assert told(people[REVIEWER], FULL_EN) == 1
    assert told(people[ADMIN], FULL_KK) == 1  # in her language
    assert f"less than the {HUGE} MB" in people[REVIEWER].last_text
    # Room again, then low again: told once more.
    services.settings.min_free_disk_mb = 1
    await round_()
    services.settings.min_free_disk_mb = HUGE
    await round_()
    await round_()
    assert told(people[REVIEWER], FULL_EN) == 2
