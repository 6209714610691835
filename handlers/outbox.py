"""The outbox's Telegram side: each kind's message in her language, sent through the bot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.context import AigaqApplication, Services
from bot.i18n import translate
from bot.models import CaseStatus
from bot.services.outbox import (
    ALERT,
    BROADCAST,
    NOTICE,
    QUESTION,
    RECEIPT,
    REMINDER,
    Blocked,
    ChatGone,
    Item,
    RateLimited,
    Transient,
)
from bot.services.sender import OutboxSender, SenderLoop
from handlers.cases import STATUS_LABELS
from handlers.followup import START

log = logging.getLogger(__name__)

Rendered = tuple[str, InlineKeyboardMarkup | None, bool]


def render(item: Item, default_locale: str) -> Rendered:
    """(text, buttons, protect_content) of a message that is not a broadcast."""
    locale = item.locale or default_locale
    message = item.message
    if item.kind == NOTICE:
        status = message["status"]
        label = STATUS_LABELS.get(CaseStatus(status), status)
        text = translate(locale, "Case {code}: {status}.")
        return text.format(code=message["code"], status=translate(locale, label)), None, True
    if item.kind == QUESTION:
        header = translate(locale, "Our team has a question about your case {code}:")
        # Her answer button carries the question's random token, never a row id.
        button = InlineKeyboardButton(
            translate(locale, "Answer"), callback_data=f"{START}{message['token']}"
        )
        text = f"{header.format(code=message['code'])}\n\n{message['text']}"
        return text, InlineKeyboardMarkup([[button]]), True
    if item.kind == REMINDER:
        text = translate(
            locale,
            "Your unsent answers will be deleted tomorrow. Send /start to continue, or "
            "/cancel to delete them now.",
        )
        return text, None, False
    if item.kind == RECEIPT:
        text = translate(
            locale,
            "Aigaq no longer keeps which cases are yours. Your case {code} now has a receipt "
            "code: {receipt}. Write it on paper and keep it safe: with it you can check the "
            "status (/status {receipt}) or withdraw the case (/withdraw {receipt}) from any "
            "Telegram account; anyone who has it can do the same, so do not share it.",
        )
        return text.format(code=message["code"], receipt=message["receipt"]), None, True
    if item.kind == ALERT and "receipts" in message:
        text = translate(
            locale,
            "{count} receipt codes that were not right were tried in the last hour: someone may be "
            "guessing. /status and /withdraw refuse further tries for an hour.",
        )
        return text.format(count=message["receipts"]), None, True
    if item.kind == ALERT and "broken" in message:
        text = translate(
            locale,
            "The audit log is broken at row {row}: someone changed or deleted its rows in the "
            "database. Tell the team and compare with the log heads in your chat.",
        )
        return text.format(row=message["broken"]), None, True
    if item.kind == ALERT and "head" in message:
        text = translate(
            locale,
            "Audit log today: row {row}, hash {hash}. If `aigaq audit verify` ever shows "
            "another hash for this row, the log was changed: tell the team.",
        )
        return text.format(row=message["head"], hash=message["hash"]), None, True
    if item.kind == ALERT and "disk_mb" in message:
        text = translate(
            locale,
            "The server's disk is almost full: {free} MB free, less than the {minimum} MB set "
            "in AIGAQ_MIN_FREE_DISK_MB. When it is full, relatives' answers and files can no "
            "longer be saved: free space on the server now (`aigaq doctor` shows where).",
        )
        return text.format(free=message["disk_mb"], minimum=message["min_mb"]), None, True
    if item.kind == ALERT:
        text = translate(locale, "New case {code}. People: {people}. Files: {files}.").format(
            code=message["code"], people=message["people"], files=message["files"]
        )
        if message.get("urgent"):
            text += "\n" + translate(
                locale, "Urgent: the disappearance was less than three months ago."
            )
        return text, None, True
    raise ChatGone(f"unknown kind {item.kind}")


class BotTransport:
    """Sends one outbox message and turns Telegram's errors into the outbox's."""

    def __init__(self, bot: Bot, *, paid: bool = False, default_locale: str = "kk") -> None:
        self._bot = bot
        # Only sent when asked for: Telegram charges Stars for paid broadcasts.
        self._paid = True if paid else None
        self._default_locale = default_locale

    async def send(self, item: Item) -> int:
        try:
            if item.kind == BROADCAST and item.photo_file_id:
                message = await self._bot.send_photo(
                    item.chat_id,
                    item.photo_file_id,
                    caption=item.text[:1024],
                    allow_paid_broadcast=self._paid,
                )
            elif item.kind == BROADCAST:
                message = await self._bot.send_message(
                    item.chat_id, item.text, allow_paid_broadcast=self._paid
                )
            else:
                text, markup, protect = render(item, self._default_locale)
                message = await self._bot.send_message(
                    item.chat_id, text, reply_markup=markup, protect_content=protect
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
                return
        except TelegramError as exc:
            log.warning("progress message not updated: %s", type(exc).__name__)
        # The report comes once: in her progress message, or (none, or it could not be
        # edited) as a new one when it is the last.
        if final:
            try:
                await application.bot.send_message(chat_id, text)
            except TelegramError as exc:
                log.warning("final report not sent: %s", type(exc).__name__)

    return OutboxSender(
        services.outbox,
        BotTransport(
            application.bot,
            paid=services.settings.broadcast_paid,
            default_locale=services.settings.default_locale,
        ),
        rate=services.settings.broadcast_rate / services.settings.broadcast_senders,
        on_progress=on_progress,
    )


async def send_now(application: AigaqApplication, kind: str) -> int:
    """Send what is due of one kind at once (CLI and tests); returns the count."""
    sender = application.services.sender
    if sender is None:
        return 0
    return await sender.drain(kinds=(kind,))


def _applied(services: Services) -> Callable[[], Awaitable[None]]:
    async def apply() -> None:
        await services.reviewer_requests.apply_pending()

    return apply


def register(application: AigaqApplication) -> None:
    """One sender per process, started and stopped with the application."""
    services = application.services
    services.sender = make_sender(application)
    services.outbox.settle_with(NOTICE, services.notices.mark)
    services.outbox.settle_with(QUESTION, services.followups.mark)
    # Notices and questions to relatives are queued by reviewer tools, sealed to the bot's
    # delivery key: there is nothing to stage, only to send.
    # Reviewers' signed requests are applied first in every round: what they queue is then
    # sent in the same round (an INSERT into reviewer_requests wakes the loop, as the
    # outbox's tables do).
    services.sender_loop = SenderLoop(
        services.sender, services.engine, before_drain=_applied(services)
    )
