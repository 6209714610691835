"""/forget: the bot deletes what it holds about her account; her sent cases stay, unlinked."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot import db
from bot.case import files_of_draft
from bot.context import AigaqApplication, AigaqContext
from bot.i18n import gettext as _
from bot.models import Role
from handlers.common import not_understood
from handlers.dialogue import say

FORGET_PREFIX = "forget:"


async def forget(update: Update, context: AigaqContext) -> None:
    """/forget: say exactly what goes and what stays, then ask."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    account = await context.services.accounts.find(user.id)
    if account is not None and account.role != Role.RELATIVE:
        await not_understood(update, context)  # staff leave through /revoke, not here
        return
    await say(
        update,
        context,
        _(
            "Forget you? The bot deletes its record of your account: the code that stands "
            "for it, your language, your news subscription, the chat number it kept, and any "
            "answers you have not sent. Cases you already sent stay with the team; they are "
            "not linked to your account, and their receipt codes still work."
        ),
        [[(_("Yes, forget me"), FORGET_PREFIX + "yes"), (_("No"), FORGET_PREFIX + "no")]],
    )


async def forget_answered(update: Update, context: AigaqContext) -> None:
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    await query.answer()
    if query.data != FORGET_PREFIX + "yes":
        await query.edit_message_text(_("Nothing was changed."))
        return
    services = context.services
    draft = (context.user_data or {}).get("draft")
    if draft is not None:
        await services.cases.discard_draft_files(files_of_draft(draft))
        services.pieces.discard(draft)
    await services.outbox.drop_reminders(chat.id)
    await services.accounts.forget(user.id)
    _end_conversations(context.application, (chat.id, user.id))
    context.application.drop_user_data(user.id)
    await context.application.update_persistence()
    await db.wipe_traces(services.engine)
    await query.edit_message_text(
        _(
            "Done: the bot deleted its record of your account. Cases you sent stay with the "
            "team, and their receipt codes still work. To remove this chat from your phone, "
            "delete it in your chat list."
        )
    )


def _end_conversations(
    application: Application[Any, Any, Any, Any, Any, Any], key: tuple[int, int]
) -> None:
    """End every dialogue she is in (its stored state goes at the next persistence write).
    PTB has no public call for it; `_update_state(END)` is what a handler returning END does."""
    for group in application.handlers.values():
        for handler in group:
            if isinstance(handler, ConversationHandler):
                handler._update_state(ConversationHandler.END, key)


def register(application: AigaqApplication) -> None:
    application.add_handler(CommandHandler("forget", forget))
    application.add_handler(CallbackQueryHandler(forget_answered, pattern=f"^{FORGET_PREFIX}"))
