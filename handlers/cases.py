"""After submitting: /status RECEIPT and /withdraw RECEIPT, from any account."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import N_
from bot.i18n import gettext as _
from bot.models import CaseStatus
from bot.services import receipts
from bot.services.alerts import queue_receipt_alert
from bot.services.outbox import NOTICE
from bot.services.withdrawal import withdraw_case
from handlers.common import withdrawal_remains
from handlers.dialogue import say

log = logging.getLogger(__name__)

WITHDRAW_PREFIX = "withdraw:"
NO = "no"

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


async def _look_up(update: Update, context: AigaqContext, usage: str) -> receipts.Found | None:
    """The case of the receipt after the command; answers her itself when there is none."""
    user = update.effective_user
    if user is None:
        return None
    if not context.args:
        await say(update, context, usage)
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
    receipt = receipts.normalise_receipt("".join(context.args))
    found = None if receipt is None else await receipts.find(context.services.sessionmaker, receipt)
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
    found = await _look_up(update, context, usage)
    if found is None:
        return
    await say(
        update,
        context,
        _("Case {code}: {status}.").format(code=found.code, status=_(STATUS_LABELS[found.status])),
    )


async def withdraw(update: Update, context: AigaqContext) -> None:
    """/withdraw RECEIPT: ask to confirm first (the button holds a one-time nonce)."""
    user = update.effective_user
    usage = _("Please write your receipt code after the command: /withdraw 7K2M-Q9XD-3HPA-V0TC")
    found = await _look_up(update, context, usage)
    if found is None or user is None:
        return
    if found.status == CaseStatus.WITHDRAWN:
        await say(update, context, _("Case {code} was withdrawn already.").format(code=found.code))
        return
    nonce = context.services.withdrawals.offer(user.id, found.case_id)
    await say(
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


async def withdraw_answered(update: Update, context: AigaqContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    nonce = (query.data or "").removeprefix(WITHDRAW_PREFIX)
    if nonce == NO:
        await query.edit_message_text(_("Nothing was changed."))
        return
    case_id = context.services.withdrawals.take(user.id, nonce)
    done = None if case_id is None else await withdraw_case(context.services.sessionmaker, case_id)
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
