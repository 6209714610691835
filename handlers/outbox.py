"""The outbox's Telegram side: send through the bot, report progress to the admin."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.app import AigaqApplication
from bot.i18n import translate
from bot.services.outbox import Blocked, ChatGone, OutboxSender, RateLimited, Transient

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 1.0


class BotTransport:
    """Sends one broadcast message and turns Telegram's errors into the outbox's."""

    def __init__(self, bot: Bot, *, paid: bool = False) -> None:
        self._bot = bot
        # Only sent when asked for: Telegram charges Stars for paid broadcasts.
        self._paid = True if paid else None

    async def send(self, chat_id: int, text: str, photo_file_id: str | None) -> int:
        try:
            if photo_file_id:
                message = await self._bot.send_photo(
                    chat_id, photo_file_id, caption=text[:1024], allow_paid_broadcast=self._paid
                )
            else:
                message = await self._bot.send_message(
                    chat_id, text, allow_paid_broadcast=self._paid
                )
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise RateLimited(seconds) from None
        except Forbidden as exc:
            raise Blocked(type(exc).__name__) from None
        except BadRequest as exc:
            raise ChatGone(exc.message[:200]) from None
        except NetworkError as exc:  # timeouts and 5xx
            raise Transient(type(exc).__name__) from None
        return message.message_id


def progress_text(
    locale: str,
    number: int,
    sent: int,
    left: int,
    failed: int,
    blocked: int,
    rate: float,
    final: bool,
) -> str:
    """One line an admin reads at a glance, in her language."""
    if final:
        template = translate(
            locale,
            "Broadcast #{number} finished. Sent: {sent}. Failed: {failed}. "
            "Blocked the bot (unsubscribed): {blocked}.",
        )
        return template.format(number=number, sent=sent, failed=failed, blocked=blocked)
    minutes = max(1, round(left / max(rate, 0.1) / 60))
    template = translate(
        locale,
        "Broadcast #{number}: sent {sent}, left {left}, failed {failed}, blocked {blocked}. "
        "About {minutes} min left.",
    )
    return template.format(
        number=number, sent=sent, left=left, failed=failed, blocked=blocked, minutes=minutes
    )


def make_sender(application: AigaqApplication) -> OutboxSender:
    """The one sender of this process, reporting progress by editing the admin's message."""
    services = application.services

    async def on_progress(broadcast_id: int, final: bool) -> None:
        target = await services.broadcasts.progress_target(broadcast_id)
        figures = await services.broadcasts.figures(broadcast_id)
        if target is None or figures is None:
            return
        chat_id, message_id, locale = target
        text = progress_text(
            locale,
            broadcast_id,
            figures.sent,
            figures.pending,
            figures.failed,
            figures.blocked,
            services.settings.broadcast_rate,
            final,
        )
        try:
            if message_id is not None:
                await application.bot.edit_message_text(text, chat_id, message_id)
            if final:
                await application.bot.send_message(chat_id, text)
        except TelegramError as exc:
            log.warning("progress message not updated: %s", type(exc).__name__)

    return OutboxSender(
        services.outbox,
        BotTransport(application.bot, paid=services.settings.broadcast_paid),
        rate=services.settings.broadcast_rate / services.settings.broadcast_senders,
        on_progress=on_progress,
    )


async def drain(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: send what is due for a little while, then yield to the next run."""
    application = context.application
    assert isinstance(application, AigaqApplication)  # noqa: S101 - wiring invariant
    from handlers.cases import deliver_notices
    from handlers.followup import deliver_questions

    sender = application.services.sender
    if sender is None:
        return
    try:
        await deliver_notices(application)
        await deliver_questions(application)
        await sender.drain(budget=5.0)
    except Exception as exc:
        log.error("outbox drain failed: %s", type(exc).__name__)


def register(application: AigaqApplication) -> None:
    """Drain the outbox every second while the bot runs."""
    application.services.sender = make_sender(application)
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            drain,
            interval=DRAIN_INTERVAL,
            first=DRAIN_INTERVAL,
            name="outbox",
            job_kwargs={"max_instances": 1, "coalesce": True},
        )
