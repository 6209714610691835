"""The intake dialogue: a ConversationHandler over the questionnaire in bot.services.intake."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.case import Draft, files_of_draft
from bot.context import AigaqApplication, AigaqContext
from bot.i18n import LOCALES, N_, current_locale, use_locale
from bot.i18n import gettext as _
from bot.services import file_tags, intake
from bot.services.cases import DailyLimit
from bot.services.team import NoRecipients
from handlers.common import (
    LANGUAGE_PREFIX,
    help_command,
    language_buttons,
    privacy_command,
    when_sealed,
    who_runs_it,
)
from handlers.dialogue import (
    CANCEL_PREFIX,
    CONFIRM_CANCEL,
    INTAKE,
    LANGUAGE,
    SUBMITTED,
    WIPE_PREFIX,
    ask,
    draft_of,
    ids,
    on_current_question,
    refuse_earlier,
    retire_keyboard,
    say,
    start_typing,
    typed_at_buttons,
)
from handlers.files import (
    MAX_FILE,
    acknowledge_file,
    evidence_of,
    file_described,
    not_ready_text,
    over_cap,
    receive_into_draft,
    too_big_text,
    unsupported_text,
)
from handlers.submitted import (
    notify_team,
    offer_deletion,
    stray_in_submitted,
    thanks_text,
    wipe_answered,
)

log = logging.getLogger(__name__)


async def _ask(update: Update, context: AigaqContext, prefix: str | None = None) -> str:
    """Show the current step's question (after an optional note) and stay in the dialogue."""
    draft = draft_of(context)
    if draft is None:
        return await _welcome(update, context)
    shown = intake.prompt(draft, context.services.pieces.values(draft))
    text = f"{prefix}\n\n{shown.text}" if prefix else shown.text
    await ask(update, context, text, shown.buttons)
    return INTAKE


async def _reask(update: Update, context: AigaqContext, error: intake.IntakeError) -> str:
    """The same question again, after a short word on what did not fit."""
    return await _ask(update, context, _(error.message).format(**error.values))


async def _welcome(update: Update, context: AigaqContext) -> str:
    user_id, _chat_id = ids(update)
    await context.services.accounts.ensure(user_id)
    await say(
        update,
        context,
        _("Welcome. Aigaq collects testimony about relatives detained in Xinjiang.")
        + " "
        + who_runs_it(context)
        + "\n"
        + when_sealed()
        + "\n\n"
        + _("Choose your language:"),
        language_buttons(current_locale()),
    )
    return LANGUAGE


async def start(update: Update, context: AigaqContext) -> str:
    """/start: the language screen, or back to where she stopped."""
    if update.effective_user is not None and update.effective_chat is not None:
        await context.services.accounts.remember_staff_chat(
            update.effective_user.id, update.effective_chat.id
        )
    if draft_of(context) is not None:
        return await _ask(update, context, _("Welcome back. We continue where you stopped."))
    return await _welcome(update, context)


async def language_picked(update: Update, context: AigaqContext) -> str | None:
    """A language button, on the first screen or in the middle of the dialogue."""
    query = update.callback_query
    if query is None or update.effective_user is None or context.user_data is None:
        return None
    code = (query.data or "").removeprefix(LANGUAGE_PREFIX)
    if code not in LOCALES:
        await query.answer(_("This button is out of date. Send /start to begin again."))
        return None
    await context.services.accounts.set_locale(update.effective_user.id, code)
    context.user_data["locale"] = code
    with use_locale(code):
        await query.answer(_("Language set: English."))
        if draft_of(context) is None:
            context.user_data["draft"] = intake.new_draft()
        return await _ask(update, context)


async def change_language(update: Update, context: AigaqContext) -> None:
    """/language in the middle of the dialogue: answers stay as they are."""
    await say(update, context, _("Choose your language:"), language_buttons(current_locale()))


async def on_button(update: Update, context: AigaqContext) -> str | None:
    """A questionnaire button. Its data names the step, so an old message's button is caught."""
    query = update.callback_query
    draft = draft_of(context)
    if query is None:
        return None
    parsed = intake.parse_callback(query.data or "")
    if draft is None or parsed is None:
        await query.answer(_("This button is out of date. Send /start to begin again."))
        return None
    step, value = parsed
    pressed_on = query.message.message_id if query.message is not None else None
    if step != draft["step"] or not on_current_question(context, pressed_on, value):
        await refuse_earlier(update, context)
        return await _ask(update, context)
    await query.answer()
    if step == intake.SUMMARY:
        return await _summary_button(update, context, draft, value)
    if value == intake.CANCEL:
        return await ask_cancel(update, context)
    if draft["step"] == "evidence" and file_tags.is_tag(value):
        return await file_described(update, context, draft, value)
    try:
        if value == intake.TYPE:
            start_typing(context, draft)
            await say(update, context, _(intake.TYPE_IT))
            return INTAKE
        if value == intake.DONE and draft["step"] in ("narrative", "evidence"):
            intake.finish_part(draft)
        elif value not in (intake.KEEP, intake.SKIP) or not intake.keep_earlier(
            draft, context.services.pieces.values(draft)
        ):
            await context.services.pieces.answer(draft, intake.Answer(button=value))
    except intake.IntakeError as exc:
        return await _reask(update, context, exc)
    return await _ask(update, context)


async def _summary_button(
    update: Update, context: AigaqContext, draft: Draft, value: str
) -> str | None:
    if value == "submit":
        return await _submit(update, context, draft)
    if value == intake.CANCEL:
        return await ask_cancel(update, context)
    try:
        intake.edit(draft, value.removeprefix("edit:"))
    except intake.IntakeError as exc:
        return await _reask(update, context, exc)
    return await _ask(update, context)


async def on_text(update: Update, context: AigaqContext) -> str | None:
    """Typed text: the answer to the current step."""
    message = update.effective_message
    draft = draft_of(context)
    if message is None or draft is None:
        return await _welcome(update, context)
    given = intake.Answer(text=message.text or "")
    return await _take(update, context, draft, given)


async def _take(
    update: Update, context: AigaqContext, draft: Draft, given: intake.Answer
) -> str | None:
    try:
        if typed_at_buttons(context, draft):
            raise intake.IntakeError(N_("Please choose one of the buttons."))
        if draft["step"] == "narrative":
            intake.narrative_piece(given)  # an empty one is re-asked, not counted
            over_cap(context, ids(update)[0], draft)
            await context.services.pieces.add_narrative(draft, given)
            await ask(
                update,
                context,
                _("Received. You can add more, or press Done."),
                [[(_(intake.LABELS[intake.DONE]), intake.callback("narrative", intake.DONE))]],
            )
            return INTAKE
        if draft["step"] == "evidence" and given.voice is not None:
            count = intake.add_evidence(draft, given.voice, "voice")
            return await acknowledge_file(update, context, draft, "voice", count)
        intake.check_id_number(draft, given, context.services.pieces.values(draft))
        await context.services.pieces.answer(draft, given)
    except intake.IntakeError as exc:
        return await _reask(update, context, exc)
    return await _ask(update, context)


async def on_voice(update: Update, context: AigaqContext) -> str | None:
    """A voice message is welcome wherever text is: sealed at once, kept as the answer."""
    message = update.effective_message
    draft = draft_of(context)
    if message is None or draft is None:
        return await _welcome(update, context)
    media = message.voice or message.audio
    if media is None:
        return None
    step = intake.BY_NAME.get(draft["step"])
    # A button question takes her voice only after "Other (type it)", where it has one.
    if step is None or typed_at_buttons(context, draft):
        return await _ask(update, context, _("Please choose one of the buttons."))
    uid = await receive_into_draft(update, context, media, "voice")
    if uid is None:
        return INTAKE
    return await _take(update, context, draft, intake.Answer(voice=uid))


async def on_file(update: Update, context: AigaqContext) -> str | None:
    """Photos, PDF documents and videos, at the evidence step."""
    message = update.effective_message
    draft = draft_of(context)
    if message is None or draft is None:
        return await _welcome(update, context)
    if draft["step"] != "evidence":
        return await _ask(
            update,
            context,
            _("You can send photos and documents a little later, at the step «Evidence»."),
        )
    media, kind = evidence_of(message)
    if media is not None and (media.file_size or 0) > MAX_FILE:
        await say(update, context, too_big_text())
        return INTAKE
    if media is None or kind is None:
        return await _ask(update, context, unsupported_text())
    uid = await receive_into_draft(update, context, media, kind)
    if uid is None:
        return INTAKE
    count = intake.add_evidence(draft, uid, kind)
    return await acknowledge_file(update, context, draft, kind, count)


async def on_unsupported(update: Update, context: AigaqContext) -> str | None:
    """Stickers, locations, contacts, polls: say what is accepted, lose nothing."""
    if draft_of(context) is None:
        return await _welcome(update, context)
    return await _ask(update, context, unsupported_text())


async def back(update: Update, context: AigaqContext) -> str | None:
    """/back: one step back, every answer kept."""
    draft = draft_of(context)
    if draft is None:
        return await _welcome(update, context)
    if not intake.back(draft):
        return await _ask(update, context, _("This is the first question."))
    return await _ask(update, context)


async def ask_cancel(update: Update, context: AigaqContext) -> str:
    """/cancel: ask before wiping anything."""
    await ask(
        update,
        context,
        _("Delete all your answers and files of this testimony? This cannot be undone."),
        [[(_("Yes, delete"), CANCEL_PREFIX + "yes"), (_("No, continue"), CANCEL_PREFIX + "no")]],
    )
    return CONFIRM_CANCEL


async def cancel_answered(update: Update, context: AigaqContext) -> str | int:
    query = update.callback_query
    if query is None:
        return CONFIRM_CANCEL
    await query.answer()
    if query.data != CANCEL_PREFIX + "yes":
        return await _ask(update, context)
    draft = draft_of(context)
    await retire_keyboard(update, context)
    if draft is not None:
        await context.services.cases.discard_draft_files(files_of_draft(draft))
    await context.services.outbox.drop_reminders(ids(update)[1])  # "expires tomorrow": no more
    if context.user_data is not None and (draft := context.user_data.pop("draft", None)):
        context.services.pieces.discard(draft)  # deleted once the draft's deletion is written
    await say(update, context, _("Your answers were deleted. Send /start to begin again."))
    return ConversationHandler.END


async def _submit(update: Update, context: AigaqContext, draft: Draft) -> str | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or context.user_data is None:
        return None
    if not intake.ready(draft):
        return await _ask(update, context, _("The name of the detained person is missing."))
    try:
        done = await context.services.cases.submit(user.id, chat.id, draft, current_locale())
    except DailyLimit as limit:
        await say(
            update,
            context,
            _(
                "You have sent {count} testimonies today, the most for one day. Your answers "
                "are kept: please press Submit again tomorrow."
            ).format(count=limit.count),
        )
        return INTAKE
    except NoRecipients:
        log.error("no active reviewer key: a case could not be sealed")
        await say(update, context, not_ready_text())
        return INTAKE
    context.user_data.pop("draft", None)
    await retire_keyboard(update, context)
    context.services.pieces.submitted(draft)
    if draft["consent"].get("subscribe") == "yes":  # news: on her account, not with the case
        await context.services.accounts.set_subscribed(user.id, chat.id, True)
    await notify_team(context, done.code, done.detainees, done.attachments, done.urgent)
    await say(update, context, thanks_text(done.code, done.receipt))
    return await offer_deletion(update, context)


def conversation() -> ConversationHandler[AigaqContext]:
    """The state table: language → questionnaire → (cancel?) → submitted."""
    answers: list[BaseHandler[Update, AigaqContext, object]] = [
        CallbackQueryHandler(on_button, pattern=f"^{intake.CALLBACK_PREFIX}"),
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(filters.VOICE | filters.AUDIO, on_voice),
        MessageHandler(
            filters.PHOTO | filters.Document.ALL | filters.VIDEO | filters.VIDEO_NOTE, on_file
        ),
    ]
    return ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            LANGUAGE: [CallbackQueryHandler(language_picked, pattern=f"^{LANGUAGE_PREFIX}")],
            INTAKE: answers,
            CONFIRM_CANCEL: [CallbackQueryHandler(cancel_answered, pattern=f"^{CANCEL_PREFIX}")],
            SUBMITTED: [
                CallbackQueryHandler(wipe_answered, pattern=f"^{WIPE_PREFIX}"),
                MessageHandler(~filters.COMMAND, stray_in_submitted),
            ],
        },
        fallbacks=[
            CommandHandler("start", start),
            CommandHandler("back", back),
            CommandHandler("cancel", ask_cancel),
            CommandHandler("language", change_language),
            CommandHandler("help", help_command),
            CommandHandler("privacy", privacy_command),
            CallbackQueryHandler(language_picked, pattern=f"^{LANGUAGE_PREFIX}"),
            MessageHandler(filters.ALL & ~filters.COMMAND, on_unsupported),
        ],
        name="intake",
        persistent=True,
        allow_reentry=True,
    )


def register(application: AigaqApplication) -> None:
    """Add the intake dialogue."""
    application.add_handler(conversation())
