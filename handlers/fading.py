"""The bot's answers that name a case go from her chat after a while.

/status and /withdraw answer with the public case code, so that she knows which case her
receipt opened. A phone looked at later should not show it: such an answer is deleted
FADE_AFTER after it was sent (or last changed). What is due is kept in her user_data (sealed
under the server key like the rest of it), so a restart does not forget it; a job deletes it.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import Any

from telegram import Message
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.context import AigaqApplication, AigaqContext

log = logging.getLogger(__name__)

# The catalog's sentence says "in 10 minutes"; tests/test_receipts.py keeps the two together.
FADE_AFTER = timedelta(minutes=10)
FADING = "fading"  # user_data: {message id (str): when it is due, epoch seconds}
BATCH = 100  # the most message ids deleteMessages takes in one call
RETRY_AFTER = timedelta(minutes=1)  # after a failure that was not Telegram saying "never"
DELETABLE_FOR = timedelta(hours=48)
# Telegram's answers when a message cannot be deleted at all: gone already, or too old.
UNDELETABLE = re.compile(
    r"message to delete not found|message can't be deleted|message is too old|"
    r"message_id_invalid",
    re.IGNORECASE,
)


def fade(context: AigaqContext, messages: list[Message]) -> None:
    """Delete these messages of the bot's from her chat FADE_AFTER from now."""
    if context.user_data is None or context.job_queue is None or not messages:
        return
    chat_id = messages[0].chat_id  # a private chat: her chat id is her user id
    due = time.time() + FADE_AFTER.total_seconds()
    fading: dict[str, float] = context.user_data.setdefault(FADING, {})
    for message in messages:
        fading[str(message.message_id)] = due
    _schedule_rest(context.application, chat_id, time.time())


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


async def delete_faded(application: AnyApplication, user_id: int, now: float | None = None) -> int:
    """Delete her messages that are due; how many were due. Those Telegram says it cannot
    delete (she deleted them, or they are too old) are dropped from the list; after any other
    failure (the network, a flood wait) they stay on it for the next try."""
    data: dict[str, Any] | None = application.user_data.get(user_id)
    fading: dict[str, float] = (data or {}).get(FADING, {})
    moment = time.time() if now is None else now
    due = sorted(int(message_id) for message_id, at in fading.items() if at <= moment)
    if not due or data is None:
        return 0
    # Telegram deletes no message sent more than 48 hours ago: past that, no try can help.
    too_old = moment - DELETABLE_FOR.total_seconds()
    gone = [message_id for message_id in due if fading[str(message_id)] <= too_old]
    tried = [message_id for message_id in due if fading[str(message_id)] > too_old]
    for start in range(0, len(tried), BATCH):
        batch = tried[start : start + BATCH]
        try:
            await application.bot.delete_messages(user_id, batch)
        except TelegramError as error:
            if not (isinstance(error, BadRequest) and UNDELETABLE.search(error.message)):
                log.info("could not delete answers that name a case: %s", type(error).__name__)
                break  # this batch and the rest wait for the next try, a minute later
        gone.extend(batch)
    for message_id in gone:
        fading.pop(str(message_id), None)
    if not fading:
        data.pop(FADING, None)
    application.mark_data_for_update_persistence(user_ids=[user_id])
    return len(due)


def _schedule_rest(application: AnyApplication, user_id: int, now: float) -> None:
    """One job per person, for the earliest of her messages still waiting (it schedules
    the next). One still waiting past its time failed to go: it is tried again a little later."""
    if application.job_queue is None:
        return
    for job in application.job_queue.jobs():
        if job.callback is _delete_job and job.user_id == user_id:
            job.schedule_removal()
    data = application.user_data.get(user_id) or {}
    waiting: dict[str, float] = data.get(FADING) or {}
    if waiting:
        earliest = min(waiting.values()) - now
        application.job_queue.run_once(
            _delete_job,
            when=earliest if earliest > 0 else RETRY_AFTER.total_seconds(),
            chat_id=user_id,
            user_id=user_id,
            name="fade",
        )


async def _delete_job(context: AigaqContext) -> None:
    job = context.job
    if job is not None and job.user_id is not None:
        now = time.time()
        await delete_faded(context.application, job.user_id, now)
        _schedule_rest(context.application, job.user_id, now)


async def _resume(context: AigaqContext) -> None:
    """After a start: delete what fell due while the bot was down, schedule the rest."""
    application = context.application
    now = time.time()
    for user_id, data in list(application.user_data.items()):
        if isinstance(data, dict) and data.get(FADING):
            await delete_faded(application, user_id, now)
            _schedule_rest(application, user_id, now)


def register(application: AigaqApplication) -> None:
    if application.job_queue is not None:
        application.job_queue.run_once(_resume, when=timedelta(seconds=5), name="fade-resume")
