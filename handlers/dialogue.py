"""What the intake's handlers share: its states, the draft, and one way to speak in it."""

from __future__ import annotations

import contextlib
from typing import cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.case import Draft
from bot.context import AigaqContext
from bot.i18n import N_, _
from bot.services import file_tags, intake
from bot.services.answers import split_message
from bot.services.intake import carry_relation

LANGUAGE, INTAKE, CONFIRM_CANCEL, SUBMITTED = "language", "intake", "confirm_cancel", "submitted"
CANCEL_PREFIX = "cancel:"
# user_data keys: the message whose buttons answer the current question, and "step:person"
# after she pressed "Other (type it)" there.
ASKED = "asked"
TYPING = "typing"
WIPE_PREFIX = "wipe:"


def draft_of(context: AigaqContext) -> Draft | None:
    """Her draft, as the intake keeps it in user_data (the encrypted persistence)."""
    if context.user_data is None:
        return None
    draft = cast("Draft | None", context.user_data.get("draft"))
    return carry_relation(draft) if draft is not None else None


def ids(update: Update) -> tuple[int, int]:
    """Her user id and chat id; the private-chat guard lets no update without them through."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ValueError("an update without a user or a chat reached the intake")
    return user.id, chat.id


# How many message ids are kept for deleting the conversation (Telegram lets a bot delete
# for 48 hours only; older ids just fail quietly).
REMEMBERED = 1000


def remember(context: AigaqContext, message: Message | None) -> None:
    """Note a message of hers or of the bot's, so it can be deleted from her phone later."""
    if message is not None and context.user_data is not None:
        ids = context.user_data.setdefault("dialogue", [])
        if message.message_id not in ids[-3:]:
            ids.append(message.message_id)
        del ids[:-REMEMBERED]


async def say(
    update: Update,
    context: AigaqContext,
    text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> list[Message]:
    """The one way the bot answers her: in parts if long, with protect_content, the last
    part carrying the buttons, every message remembered so that it can be deleted later.
    Returns the messages sent."""
    chat = update.effective_chat
    if chat is None:
        return []
    markup = (
        InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in buttons
            ]
        )
        if buttons
        else None
    )
    parts = split_message(text)
    messages = []
    for index, part in enumerate(parts):
        sent = await context.bot.send_message(
            chat.id,
            part,
            reply_markup=markup if index == len(parts) - 1 else None,
            protect_content=True,
        )
        remember(context, sent)
        messages.append(sent)
    return messages


async def retire_keyboard(update: Update, context: AigaqContext) -> None:
    """Take the buttons off the last question, when the dialogue ends (Submit, a confirmed
    /cancel): nothing is left to press in a finished dialogue."""
    chat, data = update.effective_chat, context.user_data
    message_id = data.pop(ASKED, None) if data is not None else None
    if chat is None or message_id is None:
        return
    await _take_buttons(context, chat.id, message_id)


async def _take_buttons(context: AigaqContext, chat_id: int, message_id: int) -> None:
    # Too old, deleted, or already without buttons: nothing to take away.
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def ask(
    update: Update,
    context: AigaqContext,
    text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> None:
    """A question: its buttons answer it while it is the newest question.

    An answered question keeps its buttons: taking them away is one more Bot API call per
    question (37 of a walk's 113), which under Telegram's 30 messages a second halves how
    many relatives the bot can serve at once. `on_current_question` refuses a press on them
    instead, and `refuse_earlier` then takes that message's buttons away."""
    sent = await say(update, context, text, buttons)
    if context.user_data is not None:
        if buttons and sent:
            context.user_data[ASKED] = sent[-1].message_id
        else:
            context.user_data.pop(ASKED, None)


def on_current_question(context: AigaqContext, message_id: int | None, value: str) -> bool:
    """Whether a press answers the question she is at. Only the newest question's buttons
    do: an earlier message's, even of the same step (person 1's relation while person 2's
    is asked, a summary shown before an edit), would put an answer where it does not belong.
    A file's own question names its file, and Done ends the story or the evidence whichever
    message it is on: those count from any message of the current step."""
    if value == intake.DONE or file_tags.is_tag(value):
        return True
    asked = (context.user_data or {}).get(ASKED)
    return asked is None or message_id == asked


async def refuse_earlier(update: Update, context: AigaqContext) -> None:
    """A press on an earlier question: say so, and take that message's buttons away."""
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    await query.answer(_("This button is from an earlier question."))
    if chat is not None and query.message is not None:
        await _take_buttons(context, chat.id, query.message.message_id)


def typing_here(context: AigaqContext, draft: Draft) -> bool:
    """She pressed "Other (type it)" at this very question."""
    data = context.user_data or {}
    return bool(data.get(TYPING) == f"{draft['step']}:{draft['person']}")


def start_typing(context: AigaqContext, draft: Draft) -> None:
    """ "Other (type it)": her next message is her own answer to this button question."""
    step = intake.BY_NAME.get(draft["step"])
    if step is None or not step.free:
        raise intake.IntakeError(N_("This button is out of date. Please use the buttons below."))
    if context.user_data is not None:
        context.user_data[TYPING] = f"{draft['step']}:{draft['person']}"


def typed_at_buttons(context: AigaqContext, draft: Draft) -> bool:
    """Typed text or a voice message at a button question that does not take it now: one
    without "Other (type it)", or one where she has not pressed it. Re-asked with the buttons."""
    step = intake.BY_NAME.get(draft["step"])
    if step is None or step.kind not in ("info", "yesno", "choice"):
        return False
    return not (step.free and typing_here(context, draft))
