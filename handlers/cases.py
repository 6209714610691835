"""After submitting: /status RECEIPT and /withdraw RECEIPT, from any account."""

from __future__ import annotations

import logging
import re
import time

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import N_
from bot.i18n import gettext as _
from bot.models import CaseStatus
from bot.services import receipts
from bot.services.alerts import queue_receipt_alert
from bot.services.outbox import NOTICE
from bot.services.withdrawal import TOMBSTONES, withdraw_case
from handlers.common import REMEMBER_GROUP, withdrawal_remains
from handlers.dialogue import say
from handlers.fading import fade

log = logging.getLogger(__name__)

WITHDRAW_PREFIX = "withdraw:"
NO = "no"
# A receipt typed on its own, after a bare /status or /withdraw ("which command waits for
# it", and since when), or shaped like one anywhere: taken before the intake can take it as
# an answer, and deleted from the chat.
AWAITING = "receipt_for"
AWAIT_FOR = 600  # seconds
RECEIPT_GROUP = REMEMBER_GROUP + 5
# Between groups: one space or one dash (phones turn "-" into other dashes).
_SEPARATOR = r"[ \u00a0\-\u2010-\u2015\u2212]"
_GROUP = r"([^\W_]{4})"  # four letters or digits, in any script
RECEIPT_SHAPE = re.compile(rf"{_GROUP}{_SEPARATOR}{_GROUP}{_SEPARATOR}{_GROUP}{_SEPARATOR}{_GROUP}")
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
# After a bare command: as many letters and digits as a receipt typed with a few mistakes.
ATTEMPT_LENGTH = range(receipts.LENGTH - 4, receipts.LENGTH + 5)

STATUS_LABELS = {
    CaseStatus.RECEIVED: N_("received"),
    CaseStatus.IN_REVIEW: N_("in review"),
    CaseStatus.NEEDS_INFO: N_("needs more information"),
    CaseStatus.VERIFIED: N_("verified"),
    CaseStatus.REJECTED: N_("not accepted"),
    CaseStatus.WITHDRAWN: N_("withdrawn"),
}


def _unknown_receipt() -> str:
    # The same words for a wrong receipt, a case code and anything else.
    return _(
        "No case was found for this receipt code. Please check it: it has 16 letters and digits "
        "in four groups, like 7K2M-Q9XD-3HPA-V0TC. The case code cannot be used here."
    )


async def _forget_her_message(update: Update) -> None:
    """Delete the message in which she typed her receipt, so the chat does not keep it."""
    message = update.effective_message
    if message is None:
        return
    try:
        await message.delete()
    except TelegramError as error:  # too old, or already gone: nothing more to do
        log.info("could not delete a message with a receipt: %s", type(error).__name__)


def _fading_note() -> str:
    return _("This message will be deleted from the chat in 10 minutes.")


async def _look_up(
    update: Update, context: AigaqContext, usage: str, command: str
) -> receipts.Found | None:
    """The case of the receipt after the command; answers her itself when there is none.
    A bare command waits for the receipt in her next message."""
    user = update.effective_user
    if user is None or context.user_data is None:
        return None
    if not context.args:
        context.user_data[AWAITING] = [command, time.time()]
        await say(update, context, usage)
        return None
    context.user_data.pop(AWAITING, None)
    return await _find(update, context, "".join(context.args), command)


async def _find(
    update: Update, context: AigaqContext, typed: str, command: str | None = None
) -> receipts.Found | None:
    """The case of a typed receipt. A second /withdraw of a case this process withdrew is
    told so; otherwise a withdrawn case's receipt is unknown (its hash went with the case)."""
    user = update.effective_user
    if user is None:
        return None
    await _forget_her_message(update)
    attempts = context.services.receipt_attempts
    if attempts.blocked(user.id):
        await say(
            update,
            context,
            _("Too many receipt codes that were not right. Please try again in an hour."),
        )
        return None
    receipt = receipts.normalise_receipt(typed)
    found = (
        None
        if receipt is None
        else await receipts.find(
            context.services.sessionmaker, receipt, context.services.cases.signer
        )
    )
    digest = None if receipt is None else receipts.receipt_hash(receipt)
    if found is None and command == "withdraw" and digest and TOMBSTONES.was_withdrawn(digest):
        await say(update, context, _("The case of this receipt was withdrawn already."))
        return None
    if found is not None and digest is not None:
        TOMBSTONES.offered(found.case_id, digest)
    if found is None:
        if attempts.failed(user.id):
            await queue_receipt_alert(
                context.services.outbox, context.services.sessionmaker, attempts.overall
            )
        await say(update, context, _unknown_receipt())
    return found


async def status(update: Update, context: AigaqContext) -> None:
    """/status RECEIPT: the case's code and status, to whoever holds the receipt."""
    usage = _("Please write your receipt code after the command: /status 7K2M-Q9XD-3HPA-V0TC")
    found = await _look_up(update, context, usage, "status")
    if found is not None:
        await _show_status(update, context, found)


async def _show_status(update: Update, context: AigaqContext, found: receipts.Found) -> None:
    text = _("Case {code}: {status}.").format(
        code=found.code, status=_(STATUS_LABELS[found.status])
    )
    if found.status == CaseStatus.NEEDS_INFO:
        text += " " + _(
            "Our team has a question about it. If you allowed the team to contact you, the "
            "question comes in the chat you sent the case from: please answer it there with "
            "the button under the question."
        )
    if found.status == CaseStatus.REJECTED:
        text += " " + _(
            "This does not mean you were not believed: our team could not use the case as it "
            "is, for example because it cannot be checked yet. Your testimony stays with the "
            "team. If you have more to add, you can send a new testimony with /start."
        )
    fade(context, await say(update, context, text + " " + _fading_note()))


async def withdraw(update: Update, context: AigaqContext) -> None:
    """/withdraw RECEIPT: ask to confirm first (the button holds a one-time nonce)."""
    usage = _("Please write your receipt code after the command: /withdraw 7K2M-Q9XD-3HPA-V0TC")
    found = await _look_up(update, context, usage, "withdraw")
    if found is not None:
        await _offer_withdrawal(update, context, found)


async def _offer_withdrawal(update: Update, context: AigaqContext, found: receipts.Found) -> None:
    user = update.effective_user
    if user is None:
        return
    if found.status == CaseStatus.WITHDRAWN:
        text = _("Case {code} was withdrawn already.").format(code=found.code)
        fade(context, await say(update, context, text + " " + _fading_note()))
        return
    nonce = context.services.withdrawals.offer(user.id, found.case_id)
    sent = await say(
        update,
        context,
        _(
            "Withdraw case {code}? Its testimony, its files, and the team's notes and questions "
            "about it will be deleted from the server."
        ).format(code=found.code)
        + " "
        + withdrawal_remains(),
        [[(_("Yes, withdraw"), WITHDRAW_PREFIX + nonce), (_("No"), WITHDRAW_PREFIX + NO)]],
    )
    fade(context, sent)


def looks_like_receipt(text: str) -> bool:
    """Sent with no command before it, only a receipt as printed is taken for one: four
    groups of four, every character in the receipt alphabet (typing forgiven), at least two
    digits and two letters, and letters and digits mixed in at least one group, because
    ordinary words are all letters and numbers all digits ("Took from home 2017")."""
    typed = text.strip()
    shape = RECEIPT_SHAPE.fullmatch(typed)
    if shape is None:  # most messages: her answers and her story are not read any further
        return False
    receipt = receipts.normalise_receipt(typed)
    if receipt is None:
        return False
    digits = sum(ch.isdigit() for ch in receipt)
    letters = receipts.LENGTH - digits
    mixed = any(
        any(ch.isdigit() for ch in group) and any(ch.isalpha() for ch in group)
        for group in shape.groups()
    )
    return digits >= 2 and letters >= 2 and mixed


def looks_like_attempt(text: str) -> bool:
    """After a bare /status or /withdraw: letters and digits, about as many as a receipt's
    (a mistyped one is counted as a wrong receipt); "yes" or a sentence is not one."""
    raw = SEPARATORS.sub("", text)
    return raw.isalnum() and len(raw) in ATTEMPT_LENGTH


async def receipt_typed(update: Update, context: AigaqContext) -> None:
    """A receipt sent on its own: after a bare /status or /withdraw, or one as printed sent
    anywhere. It is never kept as an answer, and it is deleted."""
    message, data = update.message, context.user_data
    if message is None or message.text is None or data is None:
        return
    waiting = data.pop(AWAITING, None)
    command = waiting[0] if waiting and time.time() - waiting[1] < AWAIT_FOR else None
    text = message.text
    if not (looks_like_receipt(text) or (command and looks_like_attempt(text))):
        return  # not a receipt: the dialogue answers it, and nothing waits any more
    found = await _find(update, context, text, command)
    if found is not None:
        if command == "withdraw":
            await _offer_withdrawal(update, context, found)
        else:
            await _show_status(update, context, found)
    raise ApplicationHandlerStop


async def withdraw_answered(update: Update, context: AigaqContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    nonce = (query.data or "").removeprefix(WITHDRAW_PREFIX)
    if nonce == NO:
        await query.edit_message_text(_("Nothing was changed."))
        return
    if isinstance(query.message, Message):
        fade(context, [query.message])  # ten minutes to read the outcome, counted anew
    case_id = context.services.withdrawals.take(user.id, nonce)
    done = None if case_id is None else await withdraw_case(context.services.sessionmaker, case_id)
    if done is not None:
        TOMBSTONES.withdrawn(case_id or 0)
    if done is None:
        await query.edit_message_text(
            _("This confirmation has expired. Please send /withdraw with your receipt code again.")
        )
        return
    await query.edit_message_text(
        _(
            "Case {code} was withdrawn. Its sealed testimony, its files ({files}), the team's "
            "notes and questions about it, and every key on the server that could open them "
            "were deleted."
        ).format(code=done.code, files=done.attachments)
        + " "
        + withdrawal_remains()
        + " "
        + _fading_note()
    )


async def deliver_notices(application: AigaqApplication) -> int:
    """Send due status notices now, through the outbox (the sender does this on its own)."""
    from handlers.outbox import send_now

    return await send_now(application, NOTICE)


def register(application: AigaqApplication) -> None:
    """Add /status and /withdraw."""
    application.add_handler(CommandHandler("status", status))
    application.add_handler(CommandHandler("withdraw", withdraw))
    application.add_handler(CallbackQueryHandler(withdraw_answered, pattern=f"^{WITHDRAW_PREFIX}"))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, receipt_typed), group=RECEIPT_GROUP
    )
