"""A reviewer's follow-up question reaches her; she answers by text, voice or files."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.app import AigaqApplication, AigaqContext
from bot.i18n import gettext as _
from bot.services.cases import FollowUpClosed, NoRecipients
from bot.services.outbox import QUESTION
from handlers.intake import MAX_FILE, evidence_of

log = logging.getLogger(__name__)

ANSWER = "followup_answer"
START, DONE = "fu:", "fudone:"


async def deliver_questions(application: AigaqApplication) -> int:
    """Send queued questions now, through the outbox (the sender does this on its own)."""
    from handlers.outbox import send_now

    return await send_now(application, QUESTION)


async def _reply(
    update: Update, context: AigaqContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id, text, reply_markup=markup, protect_content=True
        )


def _done_button(followup_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Done"), callback_data=f"{DONE}{followup_id}")]]
    )


async def begin(update: Update, context: AigaqContext) -> str | int:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or context.user_data is None:
        return ConversationHandler.END
    raw = (query.data or "").removeprefix(START)
    found = await context.services.followups.open_for(user.id, int(raw)) if raw.isdigit() else None
    if found is None:
        await query.answer(_("This button is out of date. Send /start to begin again."))
        return ConversationHandler.END
    await query.answer()
    context.user_data["followup"] = {"id": int(raw), "case": found[0], "parts": 0}
    await _reply(
        update,
        context,
        _(
            "Please write your answer, or send a voice message, photos or documents. "
            "When you have finished, press Done."
        ),
        _done_button(int(raw)),
    )
    return ANSWER


async def _seal(update: Update, context: AigaqContext, kind: str, data: bytes) -> str | int:
    state: dict[str, Any] = (context.user_data or {}).get("followup") or {}
    user = update.effective_user
    if not state or user is None or update.effective_message is None:
        return ConversationHandler.END
    try:
        await context.services.cases.seal_attachment(
            user.id, kind, data, case_id=state["case"], followup_id=state["id"]
        )
    except FollowUpClosed:
        (context.user_data or {}).pop("followup", None)
        await update.effective_message.reply_text(
            _("This question is closed, so this answer was not kept.")
        )
        return ConversationHandler.END
    except NoRecipients:
        await update.effective_message.reply_text(
            _(
                "The bot is not ready to receive testimony yet: the reviewing team has not set "
                "up its keys. Your answers are kept. Please try again later."
            )
        )
        return ANSWER
    state["parts"] += 1
    await update.effective_message.reply_text(
        _("Received. You can add more, or press Done."),
        reply_markup=_done_button(state["id"]),
        protect_content=True,
    )
    return ANSWER


async def text_answer(update: Update, context: AigaqContext) -> str | int:
    message = update.effective_message
    if message is None or not (message.text or "").strip():
        return ANSWER
    return await _seal(update, context, "text", (message.text or "").encode())


async def file_answer(update: Update, context: AigaqContext) -> str | int:
    message = update.effective_message
    if message is None:
        return ANSWER
    if message.voice or message.audio:
        media: Any = message.voice or message.audio
        kind: str | None = "voice"
    else:
        media, kind = evidence_of(message)
    if media is None or kind is None:
        await message.reply_text(
            _(
                "I can take text, voice messages, photos, PDF documents and videos. "
                "Stickers, locations, contacts and polls cannot be kept."
            )
        )
        return ANSWER
    if (media.file_size or 0) > MAX_FILE:
        await message.reply_text(
            _(
                "This file is larger than 20 MB, the most a bot can receive. Please send a "
                "smaller file, or a photo of the page. Nothing you sent before is lost."
            )
        )
        return ANSWER
    data = bytes(await (await context.bot.get_file(media.file_id)).download_as_bytearray())
    return await _seal(update, context, kind, data)


async def finish(update: Update, context: AigaqContext) -> str | int:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    state = context.user_data.pop("followup", None) or {}
    if not state.get("parts"):
        context.user_data["followup"] = state
        await _reply(
            update,
            context,
            _(
                "Please write your answer, or send a voice message, photos or documents. "
                "When you have finished, press Done."
            ),
        )
        return ANSWER
    code = await context.services.followups.finish(user.id, state["id"])
    if code is None:  # withdrawn with its case meanwhile: her answer was not kept
        await _reply(update, context, _("This question is closed, so this answer was not kept."))
        return ConversationHandler.END
    await _reply(
        update,
        context,
        _("Thank you. Your answer was sealed and added to case {code}.").format(code=code),
    )
    return ConversationHandler.END


def register(application: AigaqApplication) -> None:
    states: dict[object, list[BaseHandler[Update, AigaqContext, object]]] = {
        ANSWER: [
            CallbackQueryHandler(finish, pattern=f"^{DONE}"),
            MessageHandler(filters.TEXT & ~filters.COMMAND, text_answer),
            MessageHandler(~filters.COMMAND & ~filters.TEXT, file_answer),
        ]
    }
    application.add_handler(
        ConversationHandler(
            entry_points=[CallbackQueryHandler(begin, pattern=f"^{START}")],
            states=states,
            fallbacks=[],
            name="followup",
            persistent=True,
            allow_reentry=True,
        )
    )
