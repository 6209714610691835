"""The daily housekeeping job: remind, then purge what need not be kept."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import ContextTypes

from bot.context import AigaqApplication
from bot.services.alerts import queue_log_head, queue_reminder

log = logging.getLogger(__name__)

DAILY = timedelta(days=1)


async def housekeeping(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remind relatives whose unsent answers expire tomorrow, purge, rotate the delivery key."""
    application = context.application
    assert isinstance(application, AigaqApplication)  # noqa: S101 - wiring invariant
    services = application.services
    reminded = 0
    for reminder in await services.retention.due_reminders():
        # Sent by the outbox's sender, paced and retried like every message the bot starts.
        reminded += await queue_reminder(services.outbox, reminder.user_id, reminder.locale)
    purged = await services.retention.purge()
    # The log's head to staff chats, a copy outside the database (bot/services/alerts.py).
    await queue_log_head(services.outbox, services.sessionmaker)
    # A new delivery key once a week; old private halves go once nothing waits on them.
    rotation = await services.delivery_keys.rotate()
    log.info(
        "housekeeping: %d reminded, %d drafts, %d draft files, %d rejected cases shredded, "
        "%d delivery rows reduced to counts, %d answer tokens expired, delivery key %s, "
        "%d old delivery keys destroyed",
        reminded,
        purged.drafts,
        purged.draft_files,
        purged.rejected_cases,
        purged.delivery_rows,
        purged.answer_tokens,
        "rotated" if rotation.made else "kept",
        len(rotation.destroyed),
    )


def register(application: AigaqApplication) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            housekeeping, interval=DAILY, first=timedelta(minutes=1), name="housekeeping"
        )
