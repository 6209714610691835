"""The daily housekeeping job: remind, then purge what need not be kept."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import ContextTypes

from bot.context import AigaqApplication
from bot.services.alerts import queue_reminder

log = logging.getLogger(__name__)

DAILY = timedelta(days=1)


async def housekeeping(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remind relatives whose unsent answers expire tomorrow, then purge."""
    application = context.application
    assert isinstance(application, AigaqApplication)  # noqa: S101 - wiring invariant
    services = application.services
    reminded = 0
    for reminder in await services.retention.due_reminders():
        # Sent by the outbox's sender, paced and retried like every message the bot starts.
        reminded += await queue_reminder(services.outbox, reminder.user_id, reminder.locale)
    purged = await services.retention.purge()
    log.info(
        "housekeeping: %d reminded, %d drafts, %d draft files, %d rejected cases shredded, "
        "%d delivery rows reduced to counts",
        reminded,
        purged.drafts,
        purged.draft_files,
        purged.rejected_cases,
        purged.delivery_rows,
    )


def register(application: AigaqApplication) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            housekeeping, interval=DAILY, first=timedelta(minutes=1), name="housekeeping"
        )
