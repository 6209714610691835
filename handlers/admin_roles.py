"""/grant reviewer ID and /revoke ID: asked, then confirmed with a one-time button.

The button holds a random nonce bound to the admin who asked (bot/services/roles.py
`PendingChanges`); a forged, replayed, expired or other admin's press changes nothing and is
audited. Admins are made and unmade on the server only, and the last one never.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.context import AigaqContext
from bot.i18n import N_
from bot.i18n import gettext as _
from bot.models import Role
from bot.services.roles import Refusal
from handlers.menus import set_commands_for

CONFIRM = "role:"
YES, NO = "y:", "n:"
ROLE_NAMES = {"reviewer": Role.REVIEWER, "admin": Role.ADMIN}
ROLE_LABELS = {
    Role.RELATIVE: N_("relative"),
    Role.REVIEWER: N_("reviewer"),
    Role.ADMIN: N_("admin"),
}


def actor(update: Update, context: AigaqContext) -> str:
    """Who did it, as the audit log names people: a pseudonym, never a Telegram id."""
    assert update.effective_user is not None  # noqa: S101 - commands always have a user
    return context.services.accounts.pseudonym(update.effective_user.id)


def _target(args: list[str]) -> int | None:
    if not args or not args[-1].lstrip("-").isdigit():
        return None
    return int(args[-1])


def _label(role: Role) -> str:
    return _(ROLE_LABELS[role])


def _refusal(refusal: Refusal, target: int) -> str:
    """Why it was not done, in her language: admins change on the server; never the last."""
    if refusal == Refusal.LAST_ADMIN:
        return _(
            "You are the only admin: the team cannot be left without one. First make someone "
            "else an admin on the server ({grant}), then try again."
        ).format(grant="aigaq roles grant admin ID")
    return _(
        "Admins are added and removed only on the server, from the command line: "
        "{grant} or {revoke}. Here you can grant and revoke the reviewer role only."
    ).format(grant=f"aigaq roles grant admin {target}", revoke=f"aigaq roles revoke {target}")


async def _ask(
    update: Update, context: AigaqContext, message: Message, target: int, role: Role
) -> None:
    """Check the change can be made, then ask to confirm it; nothing changes yet."""
    user = update.effective_user
    assert user is not None  # noqa: S101 - commands always have a user
    before = await context.services.roles.check_in_chat(actor(update, context), target, role)
    if isinstance(before, Refusal):
        await message.reply_text(_refusal(before, target))
        return
    if before == role:
        text = (
            _("{id} is a reviewer already; nothing was changed.")
            if role == Role.REVIEWER
            else _("{id} has no role; nothing was changed.")
        )
        await message.reply_text(text.format(id=target))
        return
    nonce = context.services.roles.pending.offer(user.id, target, role)
    if role == Role.REVIEWER:
        question = _(
            "Make {id} a reviewer? Check the number first: a reviewer gets the team's alerts "
            "about new cases."
        )
        yes = _("Yes, make a reviewer")
    else:
        question = _("Take the reviewer role away from {id}?")
        yes = _("Yes, take it away")
    buttons = [
        InlineKeyboardButton(yes, callback_data=f"{CONFIRM}{YES}{nonce}"),
        InlineKeyboardButton(_("No"), callback_data=f"{CONFIRM}{NO}{nonce}"),
    ]
    await message.reply_text(
        question.format(id=target), reply_markup=InlineKeyboardMarkup([buttons])
    )


async def grant(update: Update, context: AigaqContext) -> None:
    """/grant reviewer TELEGRAM_ID (admins are granted on the server)"""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    role = ROLE_NAMES.get(args[0].lower()) if args else None
    target = _target(args)
    if role is None or target is None or len(args) != 2:
        await message.reply_text(_("Write it like this: /grant reviewer 123456789"))
        return
    await _ask(update, context, message, target, role)


async def revoke(update: Update, context: AigaqContext) -> None:
    """/revoke TELEGRAM_ID"""
    message = update.effective_message
    if message is None:
        return
    target = _target(context.args or [])
    if target is None or len(context.args or []) != 1:
        await message.reply_text(_("Write it like this: /revoke 123456789"))
        return
    await _ask(update, context, message, target, Role.RELATIVE)


async def confirmed(update: Update, context: AigaqContext) -> None:
    """Her "Yes" or "No" to a role change; the nonce decides what, and whether at all."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    data = (query.data or "").removeprefix(CONFIRM)
    roles = context.services.roles
    pending = await roles.confirmed(actor(update, context), user.id, data[len(YES) :])
    if pending is None:
        await query.answer(
            _("This confirmation has expired or was used already. Send /grant or /revoke again.")
        )
        return
    await query.answer()
    if not data.startswith(YES):
        await query.edit_message_text(_("Nothing was changed."))
        return
    before = await roles.change_in_chat(actor(update, context), pending.target, pending.role)
    if isinstance(before, Refusal):
        await query.edit_message_text(_refusal(before, pending.target))
        return
    account = await context.services.accounts.find(pending.target)
    locale = (account and account.locale) or context.services.settings.default_locale
    await set_commands_for(context.bot, pending.target, pending.role, locale)
    if pending.role == Role.RELATIVE:
        text = _("Done: {id} has no role now (was {before}).")
    else:
        text = _("Done: {id} is now {role} (was {before}).")
    await query.edit_message_text(
        text.format(id=pending.target, role=_label(pending.role), before=_label(before))
    )
