"""The broadcast preview counts every subscriber, Arabic-script Kazakh readers too, and the
admin reads "finished" once."""

from __future__ import annotations

from typing import Any

from tests.harness import Harness
from tests.test_admin_broadcast import ADMIN, broadcast_messages, make_team, subscribe


def finished_reports(user: Any) -> list[str]:
    return [m.text for m in user.messages if "finished" in (m.text or "")]


async def test_the_preview_counts_arabic_script_readers_and_finished_comes_once(
    harness: Harness,
) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    subscribers = await subscribe(harness, 6, ("kk", "kk_Arab", "en"))
    await admin.send_command("broadcast")
    await admin.send_text("PROTEST ертең 11:00")
    await admin.press("bc:skip")  # no Russian text
    await admin.send_text("PROTEST tomorrow 11:00")
    await admin.press("bc:no_photo")
    preview = admin.last_text
    assert "Қазақша: 2" in preview and "English: 2" in preview
    assert "Kazakh in Arabic script (the Kazakh text, converted): 2" in preview
    await admin.press("bc:send")
    assert "is being sent to 6 subscribers" in admin.last_text
    await harness.services.sender.drain()
    assert all(len(broadcast_messages(user)) == 1 for user in subscribers)
    assert finished_reports(admin) == [
        "Broadcast #1 finished. Sent: 6. Failed: 0. Blocked the bot (unsubscribed): 0."
    ]


async def test_without_a_progress_message_the_report_is_sent_once(harness: Harness) -> None:
    """The progress message cannot be edited (deleted, or too old): a new one, once."""
    team = await make_team(harness)
    admin = team[ADMIN]
    await subscribe(harness, 2, ("kk",))
    await admin.send_command("broadcast")
    await admin.send_text("PROTEST ертең")
    await admin.press("bc:texts_done")
    await admin.press("bc:no_photo")
    await admin.press("bc:send")
    harness.api.fail("editMessageText", error_code=400, times=50)
    await harness.services.sender.drain()
    assert len(finished_reports(admin)) == 1
