"""After Submit: the team hears of the case (code and counts only), and she is offered to
delete the conversation from her phone."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot.context import AigaqContext
from bot.i18n import gettext as _
from bot.services.alerts import queue_staff_alert
from handlers.dialogue import SUBMITTED, WIPE_PREFIX, say

log = logging.getLogger(__name__)


def thanks_text(code: str, receipt: str) -> str:
    """What she reads once her testimony is sealed: the case code and her receipt code."""
    return _(
        "Thank you. Your testimony was sealed and sent to the reviewing team.\n\n"
        "Case code: {code}\n"
        "Receipt code: {receipt}\n\n"
        "The receipt code shows that this case is yours. Write it on paper and keep it "
        "safe: it is stored nowhere else, and we cannot show it to you again. With it you "
        "can check the status (/status {receipt}) or withdraw the case (/withdraw "
        "{receipt}) from any Telegram account; anyone who has it can do the same, so do "
        "not share it. The case code is for talking with our team and can appear in "
        "reports; it cannot be used to check or withdraw."
    ).format(code=code, receipt=receipt)


async def notify_team(
    context: AigaqContext, code: str, people: int, files: int, urgent: bool
) -> None:
    """Code and counts only, never content, through the outbox like every message the bot
    starts itself; and whether the UN urgent procedure applies."""
    await queue_staff_alert(
        context.services.outbox,
        context.services.sessionmaker,
        code=code,
        people=people,
        files=files,
        urgent=urgent,
    )


async def wipe_answered(update: Update, context: AigaqContext) -> int:
    """Delete both sides of the dialogue, as far as Telegram allows (48 hours)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    ids = [int(i) for i in context.user_data.pop("dialogue", [])]
    if query.message is not None:
        ids.append(query.message.message_id)
    if query.data != WIPE_PREFIX + "yes":
        await context.bot.send_message(
            chat.id, _("All right. You can delete the chat yourself at any time.")
        )
        return ConversationHandler.END
    deleted = True
    for start in range(0, len(ids), 100):
        try:
            await context.bot.delete_messages(chat.id, sorted(set(ids[start : start + 100])))
        except TelegramError as exc:
            deleted = False
            log.warning("some messages could not be deleted: %s", type(exc).__name__)
    text = _(
        "The conversation was deleted from this chat as far as Telegram allows. To remove "
        "everything, also delete the chat itself: press and hold it in your chat list and "
        "choose Delete."
    )
    if not deleted:
        text = _("Some older messages could not be deleted by the bot.") + " " + text
    await context.bot.send_message(chat.id, text)
    return ConversationHandler.END


async def offer_deletion(update: Update, context: AigaqContext) -> str:
    """After Submit: offer to delete the conversation from her phone."""
    await say(
        update,
        context,
        _("Delete this conversation from your phone?"),
        [[(_("Yes, delete"), WIPE_PREFIX + "yes"), (_("No"), WIPE_PREFIX + "no")]],
    )
    return SUBMITTED


async def stray_in_submitted(update: Update, context: AigaqContext) -> str:
    """After submit, anything but the delete question: ask it again."""
    return await offer_deletion(update, context)
