"""/broadcast: an admin writes a protest update per language, previews it, sends or schedules;
a large one waits for a second admin's Approve or Reject."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import LOCALE_NAMES, WRITTEN_LOCALES, current_locale, translate
from bot.i18n import gettext as _
from bot.models import utcnow
from bot.services.broadcasts import ALMATY, Awaiting, Decision, fallback_order, parse_when
from handlers.admin import actor
from handlers.kit import ADMINS, requires

log = logging.getLogger(__name__)

TEXT, PHOTO, PREVIEW, WHEN = "bc_text", "bc_photo", "bc_preview", "bc_when"
PREFIX = "bc:"
# A second admin's buttons carry only the broadcast's number; `decide` checks the rest.
APPROVE, REJECT = "bapprove:", "breject:"
MAX_TEXT = 4000


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=PREFIX + data) for label, data in row]
            for row in rows
        ]
    )


def _chat_id(update: Update) -> int:
    if update.effective_chat is None:
        raise ValueError("a broadcast update without a chat")
    return update.effective_chat.id


def _draft(context: AigaqContext) -> dict[str, Any]:
    assert context.user_data is not None  # noqa: S101 - private chats always have user data
    return context.user_data.setdefault("broadcast", {"texts": {}, "language": WRITTEN_LOCALES[0]})


async def _ask_text(update: Update, context: AigaqContext) -> str:
    draft = _draft(context)
    language = draft["language"]
    rows = [[(_("Skip this language"), "skip")]]
    if draft["texts"]:
        rows.append([(_("Done with texts"), "texts_done")])
    rows.append([(_("Cancel"), "cancel")])
    await context.bot.send_message(
        _chat_id(update),
        _("Write the update in {language}.").format(language=LOCALE_NAMES[language]),
        reply_markup=_buttons(*rows),
    )
    return TEXT


async def start(update: Update, context: AigaqContext) -> str | int:
    """/broadcast"""
    if context.user_data is not None:
        context.user_data["broadcast"] = {"texts": {}, "language": WRITTEN_LOCALES[0]}
    return await _ask_text(update, context)


def _next_language(draft: dict[str, Any]) -> bool:
    """Move to the next language; False when all three were asked."""
    index = WRITTEN_LOCALES.index(draft["language"]) + 1
    if index >= len(WRITTEN_LOCALES):
        return False
    draft["language"] = WRITTEN_LOCALES[index]
    return True


async def text_given(update: Update, context: AigaqContext) -> str | int:
    message = update.effective_message
    if message is None:
        return ConversationHandler.END
    text = (message.text or "").strip()
    if not text or len(text) > MAX_TEXT:
        await message.reply_text(
            _("Please write the text (up to {limit} characters).").format(limit=MAX_TEXT)
        )
        return TEXT
    draft = _draft(context)
    draft["texts"][draft["language"]] = text
    return await _after_text(update, context)


async def _after_text(update: Update, context: AigaqContext) -> str:
    if _next_language(_draft(context)):
        return await _ask_text(update, context)
    return await _ask_photo(update, context)


async def _ask_photo(update: Update, context: AigaqContext) -> str:
    if not _draft(context)["texts"]:
        await context.bot.send_message(
            _chat_id(update),
            _("A broadcast needs a text in at least one language."),
        )
        _draft(context)["language"] = WRITTEN_LOCALES[0]
        return await _ask_text(update, context)
    await context.bot.send_message(
        _chat_id(update),
        _("Attach one photo, if you like."),
        reply_markup=_buttons([(_("No photo"), "no_photo")], [(_("Cancel"), "cancel")]),
    )
    return PHOTO


async def photo_given(update: Update, context: AigaqContext) -> str | int:
    message = update.effective_message
    if message is None:
        return ConversationHandler.END
    if not message.photo:
        await message.reply_text(_("Please send a photo, or press «No photo»."))
        return PHOTO
    _draft(context)["photo"] = message.photo[-1].file_id
    return await _preview(update, context)


async def _preview(update: Update, context: AigaqContext) -> str:
    """Each text exactly as subscribers will see it, then the counts and the buttons."""
    chat_id = _chat_id(update)
    draft = _draft(context)
    texts: dict[str, str] = draft["texts"]
    for language, text in texts.items():
        await context.bot.send_message(chat_id, f"— {LOCALE_NAMES[language]} —")
        if draft.get("photo"):
            await context.bot.send_photo(chat_id, draft["photo"], caption=text[:1024])
        else:
            await context.bot.send_message(chat_id, text)
    counts = await context.services.broadcasts.preview(texts)
    order = fallback_order(texts)
    summary = [_("Subscribers who will get each text:")]
    summary += [f"{LOCALE_NAMES[code]}: {counts.get(code, 0)}" for code in order]
    if counts.get("kk_Arab"):
        # Who reads Arabic-script Kazakh gets the Kazakh text in her script (text_for).
        summary.append(
            _("Kazakh in Arabic script (the Kazakh text, converted): {count}").format(
                count=counts["kk_Arab"]
            )
        )
    missing = [code for code in WRITTEN_LOCALES if code not in texts]
    if missing:
        summary.append(
            _("Subscribers who read {missing} get the text in: {order}.").format(
                missing=", ".join(LOCALE_NAMES[c] for c in missing),
                order=", ".join(LOCALE_NAMES[c] for c in order),
            )
        )
    await context.bot.send_message(
        chat_id,
        "\n".join(summary),
        reply_markup=_buttons(
            [(_("Send now"), "send"), (_("Schedule"), "schedule")], [(_("Cancel"), "cancel")]
        ),
    )
    return PREVIEW


async def _queue(update: Update, context: AigaqContext, when: datetime | None) -> int:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None  # noqa: S101
    draft = _draft(context)
    account = await context.services.accounts.ensure(user.id)
    if account.locale is None:
        # Her progress reports come in the language she is writing to the bot in.
        await context.services.accounts.set_locale(user.id, current_locale())
    number = await context.services.broadcasts.create(
        actor=actor(update, context),
        created_by=account.id,
        texts=draft["texts"],
        photo_file_id=draft.get("photo"),
        scheduled_at=when,
        progress_chat_id=chat.id,
        approval_above=context.services.settings.broadcast_approval_above,
    )
    if context.user_data is not None:
        context.user_data.pop("broadcast", None)
    awaiting = await context.services.broadcasts.awaiting(number)
    if awaiting is not None:
        return await _ask_approval(context, chat.id, awaiting)
    figures = await context.services.broadcasts.figures(number)
    total = figures.total if figures else 0
    if when is None:
        text = _("Broadcast #{number} is being sent to {total} subscribers.")
    else:
        text = _(
            "Broadcast #{number} to {total} subscribers is scheduled for {when} (Almaty time)."
        )
    sent = await context.bot.send_message(
        chat.id,
        text.format(
            number=number,
            total=total,
            when=when.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M") if when else "",
        ),
    )
    await context.services.broadcasts.set_progress_message(number, sent.message_id)
    return ConversationHandler.END


async def _ask_approval(context: AigaqContext, chat_id: int, awaiting: Awaiting) -> int:
    """The author is told it waits; every other admin gets the texts and the two buttons."""
    number = awaiting.broadcast_id
    if awaiting.approvers:
        text = _(
            "Broadcast #{number} would reach {total} subscribers, so it waits for a second "
            "admin's approval. The other admins have been sent it; nothing goes out until one "
            "of them approves."
        )
    else:
        text = _(
            "Broadcast #{number} would reach {total} subscribers, so it needs a second admin's "
            "approval, but no other admin can approve it in Telegram: it will not be sent. "
            "The update can be sent from the server with «aigaq broadcast»."
        )
    text = text.format(number=number, total=awaiting.audience)
    sent = await context.bot.send_message(chat_id, text)
    # Her message becomes the progress message once it is approved and sending.
    await context.services.broadcasts.set_progress_message(number, sent.message_id)
    for approver_chat, locale in awaiting.approvers:
        try:
            await _send_for_approval(context.bot, approver_chat, locale, awaiting)
        except TelegramError as exc:
            log.warning("approval request not delivered: %s", type(exc).__name__)
    return ConversationHandler.END


async def _send_for_approval(bot: Bot, chat: int, locale: str, awaiting: Awaiting) -> None:
    number, when = awaiting.broadcast_id, awaiting.scheduled_at
    header = translate(
        locale,
        "Another admin wrote broadcast #{number} to {total} subscribers. It needs your "
        "approval before it is sent. Here are its texts.",
    )
    await bot.send_message(chat, header.format(number=number, total=awaiting.audience))
    for language, text in awaiting.texts.items():
        await bot.send_message(chat, f"— {LOCALE_NAMES[language]} —")
        if awaiting.photo_file_id:
            await bot.send_photo(chat, awaiting.photo_file_id, caption=text[:1024])
        else:
            await bot.send_message(chat, text)
    question = translate(
        locale,
        "Approve broadcast #{number}? If you did not expect it, reject it: the other "
        "admin's account may be in someone else's hands.",
    ).format(number=number)
    if when is None:
        timing = translate(locale, "It is to be sent as soon as it is approved.")
    else:
        timing = translate(locale, "It is scheduled for {when} (Almaty time).").format(
            when=when.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M")
        )
    labels = ((translate(locale, "Approve"), APPROVE), (translate(locale, "Reject"), REJECT))
    row = [InlineKeyboardButton(label, callback_data=f"{kind}{number}") for label, kind in labels]
    await bot.send_message(chat, f"{question}\n{timing}", reply_markup=InlineKeyboardMarkup([row]))


async def decide(update: Update, context: AigaqContext) -> None:
    """A second admin's Approve or Reject. The data is only a number: whether she may decide,
    and whether it still waits, is the service's to check."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    approve = (query.data or "").startswith(APPROVE)
    raw = (query.data or "").removeprefix(APPROVE if approve else REJECT)
    account = await context.services.accounts.find(user.id) if raw.isdigit() else None
    decision = (
        await context.services.broadcasts.decide(
            actor(update, context), account.id, int(raw), approve=approve
        )
        if account is not None
        else Decision.NOT_ADMIN
    )
    if decision == Decision.NOT_ADMIN:
        await query.answer(_("This button is out of date. Send /start to begin again."))
        return
    if decision == Decision.OWN:
        await query.answer(_("You wrote this broadcast: another admin must approve it."))
        return
    await query.answer()
    done = {
        Decision.APPROVED: _("You approved broadcast #{number}."),
        Decision.REJECTED: _("You rejected broadcast #{number}; nothing was sent."),
    }.get(decision, _("Broadcast #{number} no longer waits for approval."))
    await query.edit_message_text(done.format(number=raw))
    if decision in (Decision.APPROVED, Decision.REJECTED):
        await _tell_author(context, int(raw), approved=decision == Decision.APPROVED)


async def _tell_author(context: AigaqContext, number: int, *, approved: bool) -> None:
    """The author learns the outcome in her language: a rejection she did not expect
    tells her someone else has her account."""
    target = await context.services.broadcasts.progress_target(number)
    if target is None:
        return
    if approved:
        text = translate(target[2], "Another admin approved broadcast #{number}.")
    else:
        text = translate(target[2], "Another admin rejected broadcast #{number}; nothing was sent.")
    try:
        await context.bot.send_message(target[0], text.format(number=number))
    except TelegramError as exc:
        log.warning("author not told of the decision: %s", type(exc).__name__)


async def button(update: Update, context: AigaqContext) -> str | int | None:
    query = update.callback_query
    if query is None:
        return ConversationHandler.END
    await query.answer()
    action = (query.data or "").removeprefix(PREFIX)
    if action == "cancel":
        if context.user_data is not None:
            context.user_data.pop("broadcast", None)
        await query.edit_message_text(_("The broadcast was cancelled; nothing was sent."))
        return ConversationHandler.END
    if action == "skip":
        return await _after_text(update, context)
    if action == "texts_done":
        return await _ask_photo(update, context)
    if action == "no_photo":
        return await _preview(update, context)
    if action == "send":
        return await _queue(update, context, None)
    if action == "schedule":
        now = utcnow().astimezone(ALMATY).strftime("%Y-%m-%d %H:%M")
        await query.edit_message_text(
            _("When? Write the date and time in Almaty time, like {example}.").format(example=now)
        )
        return WHEN
    return None


async def when_given(update: Update, context: AigaqContext) -> str | int:
    message = update.effective_message
    if message is None:
        return ConversationHandler.END
    when = parse_when(message.text or "")
    if when is None or when <= utcnow():
        await message.reply_text(
            _("Please write a future date and time, like 2026-11-25 18:00 (Almaty time).")
        )
        return WHEN
    return await _queue(update, context, when)


def conversation() -> ConversationHandler[AigaqContext]:
    # Every step checks the role again: a revoked admin's half-made broadcast goes nowhere.
    admin = requires(ADMINS, "broadcast")
    buttons: BaseHandler[Update, AigaqContext, object] = CallbackQueryHandler(
        admin(button), pattern=f"^{PREFIX}"
    )
    text: BaseHandler[Update, AigaqContext, object] = MessageHandler(
        filters.TEXT & ~filters.COMMAND, admin(text_given)
    )
    states: dict[object, list[BaseHandler[Update, AigaqContext, object]]] = {
        TEXT: [buttons, text],
        PHOTO: [buttons, MessageHandler(~filters.COMMAND, admin(photo_given))],
        PREVIEW: [buttons],
        WHEN: [buttons, MessageHandler(filters.TEXT & ~filters.COMMAND, admin(when_given))],
    }
    return ConversationHandler(
        entry_points=[CommandHandler("broadcast", admin(start))],
        states=states,
        fallbacks=[CommandHandler("broadcast", admin(start))],
        name="broadcast",
        persistent=True,
        allow_reentry=True,
    )


def register(application: AigaqApplication) -> None:
    application.add_handler(conversation())
    # The role is checked now (a refusal is audited); the service checks it again with the
    # author and the broadcast's state, in the transaction that decides.
    application.add_handler(
        CallbackQueryHandler(
            requires(ADMINS, "broadcast.approve")(decide), pattern=f"^({APPROVE}|{REJECT})"
        )
    )
