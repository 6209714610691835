"""/stats names every figure in the admin's language: no raw keys."""

from __future__ import annotations

import re

from bot.models import Role
from tests.harness import Harness
from tests.test_staff_alert_language import a_new_case

ADMIN = 4343


async def test_stats_shows_labels_not_raw_keys(harness: Harness) -> None:
    await harness.services.roles.grant("cli", ADMIN, Role.ADMIN)
    admin = harness.user(user_id=ADMIN, language_code="ru")
    await admin.send_command("language")
    await admin.press("lang:ru")
    await admin.send_command("start")
    await a_new_case(harness, 9500)
    await admin.send_command("stats")
    text = admin.last_text
    assert "получено: 1" in text and "Қазақша: 1" in text
    assert re.search(r"неделя \d+", text) and "-W" not in text and "week" not in text
    for raw in ("received", "kk:", "sent:", "pending", "?:"):
        assert raw not in text, raw
