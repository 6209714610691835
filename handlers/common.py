"""Greeting, language, help, privacy, the private-chat guard and the error handler."""

from __future__ import annotations

import logging
import traceback
import uuid
from pathlib import Path

from telegram import (
    Chat,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import LOCALE_NAMES, LOCALES, current_locale, ngettext, use_locale
from bot.i18n import gettext as _
from bot.models import Role
from handlers.dialogue import remember, say
from handlers.menus import command_list

log = logging.getLogger(__name__)

LANGUAGE_PREFIX = "lang:"

# The guards run before every other handler.
GUARD_GROUP = -100
FLOOD_GROUP = -90
REMEMBER_GROUP = -80


def language_buttons(preselected: str | None) -> list[list[tuple[str, str]]]:
    """Қазақша · Русский · English, with the likely choice marked."""
    return [
        [
            (("✓ " if code == preselected else "") + LOCALE_NAMES[code], LANGUAGE_PREFIX + code)
            for code in LOCALES
        ]
    ]


def language_keyboard(preselected: str | None) -> InlineKeyboardMarkup:
    """The language buttons as an inline keyboard."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in language_buttons(preselected)
        ]
    )


async def private_only(update: Update, context: AigaqContext) -> None:
    """Answer only in private chats; leave any group or channel the bot was put in."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL):
        try:
            if update.message is not None:
                await update.message.reply_text(_("This bot works only in a private chat."))
            await context.bot.leave_chat(chat.id)
        except TelegramError as exc:
            log.warning("could not leave a group chat: %s", type(exc).__name__)
    raise ApplicationHandlerStop


async def flood_guard(update: Update, context: AigaqContext) -> None:
    """Too many messages in a minute: a polite word, and the rest waits."""
    user = update.effective_user
    if user is None:
        return
    gate = context.services.flood_gate
    if gate.allow(user.id):
        return
    if update.callback_query is not None:
        await update.callback_query.answer(_("Please wait a minute, then try again."))
    elif update.effective_message is not None:
        await say(
            update,
            context,
            _(
                "You are sending messages very fast. Please wait a minute, then send again "
                "whatever I did not answer. Nothing you sent before is lost."
            ),
        )
    raise ApplicationHandlerStop


async def added_to_chat(update: Update, context: AigaqContext) -> None:
    """Leave a group as soon as someone adds the bot to it."""
    member: ChatMemberUpdated | None = update.my_chat_member
    if member is None or member.chat.type == Chat.PRIVATE:
        return
    if member.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        try:
            await context.bot.leave_chat(member.chat.id)
        except TelegramError as exc:
            log.warning("could not leave a group chat: %s", type(exc).__name__)


async def choose_language(update: Update, context: AigaqContext) -> None:
    """/language: offer the three languages again."""
    if update.effective_message is None:
        return
    await say(update, context, _("Choose your language:"), language_buttons(current_locale()))


async def language_chosen(update: Update, context: AigaqContext) -> None:
    """A language button: store the choice and answer in the new language."""
    query = update.callback_query
    if query is None or update.effective_user is None:
        return
    code = (query.data or "").removeprefix(LANGUAGE_PREFIX)
    if code not in LOCALES:
        await query.answer(_("This button is out of date. Send /start to begin again."))
        return
    await context.services.accounts.set_locale(update.effective_user.id, code)
    if context.user_data is not None:
        context.user_data["locale"] = code
    with use_locale(code):
        await query.answer()
        await query.edit_message_text(
            _("Language set: English.") + "\n\n" + _("Send /help to see what I can do.")
        )


def who_runs_it(context: AigaqContext) -> str:
    """Who runs the bot, and that it is neither the UN nor a government."""
    return _("Aigaq is run by {organisation}. It is not the UN or any government.").format(
        organisation=context.services.settings.require_organisation()
    )


def when_sealed() -> str:
    """What is sealed when: every answer, file and voice message as it arrives."""
    return _(
        "Your answers, files and voice messages are sealed as soon as they arrive: on our "
        "server, only the reviewing team can read them."
    )


def withdrawal_remains() -> str:
    """What a withdrawal leaves behind today (docs/data.md lists the same)."""
    return _(
        "What remains: the case code, the date, the word «withdrawn», and the team's log of "
        "what was done with the case. Copies in backups made earlier are not deleted."
    )


async def help_command(update: Update, context: AigaqContext) -> None:
    """/help: what the bot does, in plain words."""
    user = update.effective_user
    if update.effective_message is None or user is None:
        return
    account = await context.services.accounts.find(user.id)
    await say(
        update,
        context,
        _(
            "Aigaq records testimony about people detained in Xinjiang, so that the "
            "reviewing team can check it and bring it to human-rights organisations."
        )
        + " "
        + who_runs_it(context)
        + "\n\n"
        + command_list(account.role if account is not None else Role.RELATIVE)
        + "\n\n"
        + _("You can answer any question with a voice message."),
    )


async def privacy_command(update: Update, context: AigaqContext) -> None:
    """/privacy: what is collected, who reads it, what Telegram sees, how to delete."""
    if update.effective_message is None:
        return
    days = context.services.settings.draft_ttl_days
    await say(
        update,
        context,
        "\n\n".join(
            [
                who_runs_it(context),
                _(
                    "What we keep: your answers, photos, documents and voice messages. Answers, "
                    "files and voice messages are sealed as soon as they arrive. Sealed "
                    "testimony can be opened only by the reviewing team, with keys kept on "
                    "their own computers; the bot cannot read it back. While you answer, the "
                    "bot keeps, encrypted with its own key, only what it needs to lead the "
                    "conversation: which question you are at, how many people you describe, "
                    "your yes/no and consent choices, and whether a detention may be recent "
                    "enough to be urgent. Whoever controls the server could read those, but "
                    "not your answers."
                ),
                _(
                    "We do not keep your Telegram phone number or name. Your Telegram account "
                    "number is kept encrypted with the bot's own key, and your account is "
                    "stored as a code made with that key; if you asked for news, the number "
                    "Telegram gives this chat (not your phone number) is kept too, encrypted "
                    "with that key. If you agreed to follow-up questions, that chat number is "
                    "sealed with your case for the reviewing team; the bot can read it only "
                    "while a question or a message about your case waits to be sent, and "
                    "deletes it then. Nothing on the server says which cases are yours: only "
                    "your receipt code does, and the server keeps only a fingerprint of it "
                    "that cannot be turned back into the code. Whoever takes over the server "
                    "with the bot's key could still check whether a given Telegram account "
                    "has written to this bot, and see the exact size of each file, which can "
                    "hint that a case holds a document they already have."
                )
                + " "
                + _(
                    "If the server uses a PostgreSQL database, the order in which records were "
                    "written can also tie a case you just sent to your account, for some days."
                ),
                _(
                    "Like every Telegram chat, this chat and everything you write in it stay on "
                    "Telegram's servers until you delete them. Telegram also sees when you write "
                    "to this bot. To lower the risk, use a Telegram account that is not tied "
                    "to your everyday phone number, and delete this chat when you have "
                    "finished. If you travel to China, delete this chat before you go."
                ),
                ngettext(
                    "To delete: answers you have not yet sent are wiped after {days} day, or "
                    "at once with /cancel.",
                    "To delete: answers you have not yet sent are wiped after {days} days, or "
                    "at once with /cancel.",
                    days,
                ).format(days=days)
                + " "
                + _(
                    "After you send them, you can withdraw your case with its receipt code: "
                    "its testimony, its files, and the team's notes and questions about it "
                    "are deleted from the server."
                )
                + " "
                + withdrawal_remains(),
                _(
                    "/forget deletes the bot's record of your account: the code that stands "
                    "for it, your language, your news subscription and the chat number it "
                    "kept. Cases you sent stay with the team; they are not linked to your "
                    "account, and your receipt codes still work."
                ),
            ]
        ),
    )


async def not_understood(update: Update, context: AigaqContext) -> None:
    """Anything no other handler took: a short hint, never an echo."""
    if update.effective_message is None:
        return
    await say(
        update, context, _("I did not understand that. Send /start to begin, or /help for help.")
    )


async def stale_button(update: Update, context: AigaqContext) -> None:
    """A button no handler knows: an old message, or forged callback data."""
    if update.callback_query is not None:
        await update.callback_query.answer(
            _("This button is out of date. Send /start to begin again.")
        )


async def on_error(update: object, context: AigaqContext) -> None:
    """Log the exception type and an opaque id only; tell her nothing she sent was lost."""
    incident = uuid.uuid4().hex[:12]
    error = context.error
    # The exception's message may quote what she sent, so only its type and the code
    # locations it passed through are logged.
    frames = traceback.extract_tb(error.__traceback__) if error is not None else []
    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    log.error("handler failed: %s (incident %s) at %s", type(error).__name__, incident, where)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                _(
                    "Something went wrong on our side. Nothing you sent was lost. "
                    "Please try again in a minute."
                )
                + f"\n\n#{incident}",
            )
        except TelegramError as exc:
            log.warning("could not report incident %s: %s", incident, type(exc).__name__)


async def remember_hers(update: Update, context: AigaqContext) -> None:
    """Every message she sends is remembered, so that the conversation can be deleted."""
    if update.message is not None:
        remember(context, update.message)


def register(application: AigaqApplication) -> None:
    """Add the common handlers."""
    application.add_handler(TypeHandler(Update, private_only), group=GUARD_GROUP)
    application.add_handler(TypeHandler(Update, remember_hers), group=REMEMBER_GROUP)
    application.add_handler(
        ChatMemberHandler(added_to_chat, ChatMemberHandler.MY_CHAT_MEMBER), group=GUARD_GROUP
    )
    application.add_handler(TypeHandler(Update, flood_guard), group=FLOOD_GROUP)
    application.add_handler(CommandHandler("language", choose_language))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("privacy", privacy_command))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=f"^{LANGUAGE_PREFIX}"))
    application.add_error_handler(on_error)


def register_fallbacks(application: AigaqApplication) -> None:
    """Added last in the default group, so they answer only what nothing else took."""
    application.add_handler(MessageHandler(filters.ALL, not_understood))
    application.add_handler(CallbackQueryHandler(stale_button))
