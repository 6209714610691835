"""Staff notices about a new case come in the staff member's language, not the submitter's
nor the bot's default."""

from __future__ import annotations

from bot.models import Role
from bot.services.alerts import queue_staff_alert
from bot.services.outbox import ALERT
from handlers.outbox import send_now
from tests.harness import Harness
from tests.test_followup_status import a_case

STAFF = 4242


async def a_new_case(harness: Harness, user_id: int) -> str:
    """A case submitted in Kazakh, and the team told as on Submit (handlers/submitted.py)."""
    code = await a_case(harness, user_id)
    services = harness.services
    await queue_staff_alert(
        services.outbox, services.sessionmaker, code=code, people=1, files=0, urgent=False
    )
    assert await send_now(harness.app, ALERT) == 1  # type: ignore[arg-type]
    return code


async def test_a_new_case_alert_is_in_the_staff_members_telegram_language(
    harness: Harness,
) -> None:
    await harness.services.roles.grant("cli", STAFF, Role.REVIEWER)
    staff = harness.user(user_id=STAFF, language_code="ru")
    await staff.send_command("start")  # her chat kept; she never pressed a language button
    code = await a_new_case(harness, 9400)
    # Not the bot's default language (nor the submitter's Kazakh): hers.
    assert staff.last_text.startswith(f"Новое дело {code}. Людей: 1.")


async def test_a_language_she_picked_wins_over_her_telegrams(harness: Harness) -> None:
    await harness.services.roles.grant("cli", STAFF, Role.ADMIN)
    staff = harness.user(user_id=STAFF, language_code="ru")
    await staff.send_command("language")
    await staff.press("lang:en")
    await staff.send_command("start")
    code = await a_new_case(harness, 9401)
    assert staff.last_text.startswith(f"New case {code}. People: 1.")
