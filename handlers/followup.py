"""A reviewer's follow-up question reaches her; she answers by text, voice or files."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import gettext as _
from bot.i18n import ngettext
from bot.services.outbox import QUESTION
from handlers.dialogue import say
from handlers.files import (
    Closed,
    evidence_of,
    origin_of,
    receive_file,
    seal_received,
    unsupported_text,
)

log = logging.getLogger(__name__)

ANSWER = "followup_answer"
# The buttons carry the question's random answer token (bot/services/followups.py).
START, DONE = "fu:", "fudone:"


async def deliver_questions(application: AigaqApplication) -> int:
    """Send queued questions now, through the outbox (the sender does this on its own)."""
    from handlers.outbox import send_now

    return await send_now(application, QUESTION)


async def _reply(
    update: Update, context: AigaqContext, text: str, done_for: str | None = None
) -> None:
    """Through the one way the bot answers her (remembered for deletion, protected)."""
    buttons = [[(_("Done"), f"{DONE}{done_for}")]] if done_for is not None else None
    await say(update, context, text, buttons)


def closed_text(context: AigaqContext) -> str:
    """What she reads when a question's button no longer works (or never did)."""
    days = context.services.settings.answer_token_days
    return ngettext(
        "This question is closed: it was answered, its case was withdrawn, or it was asked "
        "more than {days} day ago.",
        "This question is closed: it was answered, its case was withdrawn, or it was asked "
        "more than {days} days ago.",
        days,
    ).format(days=days)


async def begin(update: Update, context: AigaqContext) -> str | int:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or context.user_data is None:
        return ConversationHandler.END
    token = (query.data or "").removeprefix(START)
    await query.answer()
    if await context.services.followups.open_for(token) is None:
        context.user_data.pop("followup", None)
        await _reply(update, context, closed_text(context))
        return ConversationHandler.END
    context.user_data["followup"] = {"token": token, "parts": 0}
    await _reply(
        update,
        context,
        _(
            "Please write your answer, or send a voice message, photos or documents. "
            "When you have finished, press Done."
        ),
        token,
    )
    return ANSWER


async def _kept(
    update: Update, context: AigaqContext, kind: str, *, media: Any = None, data: bytes = b""
) -> str | int:
    """Seal one part of her answer to the case (a file received the one way files are, or
    her text), and say it was received; a closed question keeps nothing."""
    state: dict[str, Any] = (context.user_data or {}).get("followup") or {}
    user, message = update.effective_user, update.effective_message
    if not state or user is None or message is None:
        return ConversationHandler.END

    async def tell(text: str) -> None:
        await _reply(update, context, text)

    question = await context.services.followups.open_for(state.get("token") or "")
    try:
        if question is None:
            raise Closed
        case_id, followup_id = question.case_id, question.followup_id
        if media is not None:
            uid = await receive_file(
                context,
                media,
                kind,
                tell,
                case_id=case_id,
                followup_id=followup_id,
                origin=origin_of(update.effective_message, media),
            )
        else:
            uid = await seal_received(
                context, kind, data, tell, case_id=case_id, followup_id=followup_id
            )
    except Closed:
        (context.user_data or {}).pop("followup", None)
        await tell(_("This question is closed, so this answer was not kept."))
        return ConversationHandler.END
    if uid is None:
        return ANSWER
    state["parts"] += 1
    await _reply(update, context, _("Received. You can add more, or press Done."), state["token"])
    return ANSWER


async def text_answer(update: Update, context: AigaqContext) -> str | int:
    message = update.effective_message
    if message is None or not (message.text or "").strip():
        return ANSWER
    return await _kept(update, context, "text", data=(message.text or "").encode())


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
        await _reply(update, context, unsupported_text())
        return ANSWER
    return await _kept(update, context, kind, media=media)


async def finish(update: Update, context: AigaqContext) -> str | int:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or context.user_data is None:
        return ConversationHandler.END
    await query.answer()
    state = context.user_data.pop("followup", None) or {}
    if not state.get("token"):  # a Done button of a question she is not answering now
        token = (query.data or "").removeprefix(DONE)
        if await context.services.followups.open_for(token) is None:
            await _reply(update, context, closed_text(context))
            return ConversationHandler.END
        state = {"token": token, "parts": 0}
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
    code = await context.services.followups.finish(state.get("token") or "")
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
