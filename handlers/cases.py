"""After submitting: /status CODE, /mycases, /withdraw CODE."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import N_, format_date
from bot.i18n import gettext as _
from bot.models import CaseStatus
from bot.services.cases import normalise_code
from bot.services.outbox import NOTICE
from handlers.common import withdrawal_remains
from handlers.dialogue import say

log = logging.getLogger(__name__)

WITHDRAW_PREFIX = "withdraw:"

STATUS_LABELS = {
    CaseStatus.RECEIVED: N_("received"),
    CaseStatus.IN_REVIEW: N_("in review"),
    CaseStatus.NEEDS_INFO: N_("needs more information"),
    CaseStatus.VERIFIED: N_("verified"),
    CaseStatus.REJECTED: N_("not accepted"),
    CaseStatus.WITHDRAWN: N_("withdrawn"),
}


def _unknown_code() -> str:
    # The same words for a code that does not exist and for somebody else's.
    return _("No case with this code was found among your cases.")


async def status(update: Update, context: AigaqContext) -> None:
    """/status CODE: only to the account that submitted it."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    if not context.args:
        await say(update, context, _("Please write the code after the command: /status K7QF-M2XD"))
        return
    found = await context.services.cases.status(user.id, context.args[0])
    if found is None:
        await say(update, context, _unknown_code())
        return
    await say(
        update,
        context,
        _("Case {code}: {status}.").format(
            code=normalise_code(context.args[0]), status=_(STATUS_LABELS[found])
        ),
    )


async def my_cases(update: Update, context: AigaqContext) -> None:
    """/mycases: her codes and their status."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    cases = await context.services.cases.mine(user.id)
    if not cases:
        await say(update, context, _("You have not sent any testimony yet. Send /start to begin."))
        return
    lines = [_("Your cases:")] + [
        f"{case.code} · {format_date(case.created_at)} · {_(STATUS_LABELS[case.status])}"
        for case in cases
    ]
    await say(update, context, "\n".join(lines))


async def withdraw(update: Update, context: AigaqContext) -> None:
    """/withdraw CODE: ask to confirm first."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    if not context.args:
        await say(
            update, context, _("Please write the code after the command: /withdraw K7QF-M2XD")
        )
        return
    code = normalise_code(context.args[0])
    found = await context.services.cases.status(user.id, code)
    if found is None or found == CaseStatus.WITHDRAWN:
        await say(update, context, _unknown_code())
        return
    await say(
        update,
        context,
        _(
            "Withdraw case {code}? Its testimony, its files, and the team's notes and questions "
            "about it will be deleted from the server."
        ).format(code=code)
        + " "
        + withdrawal_remains(),
        [[(_("Yes, withdraw"), WITHDRAW_PREFIX + code), (_("No"), WITHDRAW_PREFIX + "no")]],
    )


async def withdraw_answered(update: Update, context: AigaqContext) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    code = (query.data or "").removeprefix(WITHDRAW_PREFIX)
    if code == "no":
        await query.edit_message_text(_("Nothing was changed."))
        return
    done = await context.services.cases.withdraw(user.id, code)
    if done is None:
        await query.edit_message_text(_unknown_code())
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
    """Add /status, /mycases and /withdraw."""
    application.add_handler(CommandHandler("status", status))
    application.add_handler(CommandHandler("mycases", my_cases))
    application.add_handler(CommandHandler("withdraw", withdraw))
    application.add_handler(CallbackQueryHandler(withdraw_answered, pattern=f"^{WITHDRAW_PREFIX}"))
