"""Roles, the team, numbers and subscriptions. Every privileged command checks the role now."""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import AigaqApplication, AigaqContext
from bot.i18n import format_date
from bot.i18n import gettext as _
from bot.services.alerts import DiskWatch
from handlers.admin_roles import CONFIRM, ROLE_LABELS, actor, confirmed, grant, revoke
from handlers.kit import ADMINS, requires
from handlers.stats import stats

CANCEL_BROADCAST = "bcancel:"
# A disk fills at most about 15 MB a second from Telegram's 20 MB files: looked at each minute.
DISK_EVERY = timedelta(minutes=1)


def masked(telegram_id: int | None) -> str:
    """A Telegram id as /team shows it, enough to tell people apart: 12•••••89."""
    if telegram_id is None:
        return "?"
    digits = str(telegram_id)
    if len(digits) < 8:
        return "•" * len(digits)
    return f"{digits[:2]}{'•' * (len(digits) - 4)}{digits[-2:]}"


async def team(update: Update, context: AigaqContext) -> None:
    """/team: reviewers and admins, their Telegram ids masked."""
    message = update.effective_message
    if message is None:
        return
    members = await context.services.roles.team()
    lines = [_("Reviewers and admins:")] + [
        f"{_(ROLE_LABELS[member.role])}: {masked(member.telegram_id)}" for member in members
    ]
    await message.reply_text("\n".join(lines), protect_content=True)


async def broadcasts(update: Update, context: AigaqContext) -> None:
    """/broadcasts: the recent ones with their figures; a running one can be cancelled."""
    message = update.effective_message
    if message is None:
        return
    recent = await context.services.broadcasts.recent(limit=10)
    if not recent:
        await message.reply_text(_("No broadcasts yet."))
        return
    lines, buttons = [], []
    for item in recent:
        lines.append(
            _(
                "#{number} · {date} · {status}: sent {sent} of {total}, failed {failed}, "
                "blocked {blocked}"
            ).format(
                number=item.broadcast_id,
                date=format_date(item.created_at),
                status=item.status,
                sent=item.sent,
                total=item.total,
                failed=item.failed,
                blocked=item.blocked,
            )
        )
        if item.status in ("sending", "scheduled"):
            buttons.append(
                [
                    InlineKeyboardButton(
                        _("Cancel #{number}").format(number=item.broadcast_id),
                        callback_data=f"{CANCEL_BROADCAST}{item.broadcast_id}",
                    )
                ]
            )
    await message.reply_text(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons) if buttons else None
    )


async def cancel_broadcast(update: Update, context: AigaqContext) -> None:
    query = update.callback_query
    if query is None:
        return
    raw = (query.data or "").removeprefix(CANCEL_BROADCAST)
    if not raw.isdigit():
        await query.answer(_("This button is out of date. Send /start to begin again."))
        return
    await query.answer()
    if await context.services.broadcasts.cancel(actor(update, context), int(raw)):
        await query.edit_message_text(
            _("Broadcast #{number} was cancelled. Messages already sent stay sent.").format(
                number=raw
            )
        )
    else:
        await query.edit_message_text(_("That broadcast is no longer running."))


async def subscribe(update: Update, context: AigaqContext) -> None:
    """/subscribe: opt in to protest news."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    await context.services.accounts.set_subscribed(user.id, chat.id, True)
    await message.reply_text(_("You will receive news about protests. To stop, send /unsubscribe."))


async def unsubscribe(update: Update, context: AigaqContext) -> None:
    """/unsubscribe: opt out; nothing more is sent."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    await context.services.accounts.set_subscribed(user.id, chat.id, False)
    await message.reply_text(_("You will not receive news about protests any more."))


async def watch_disk(context: AigaqContext) -> None:
    """Each minute: staff are told once when the disk runs low (bot/services/alerts.py)."""
    watch = context.job.data if context.job is not None else None
    if isinstance(watch, DiskWatch):
        services = context.services
        await watch.check(services.outbox, services.sessionmaker, services.settings)


def register(application: AigaqApplication) -> None:
    """Add the admin and subscription commands."""
    for name, callback in (
        ("grant", requires(ADMINS, "grant")(grant)),
        ("revoke", requires(ADMINS, "revoke")(revoke)),
        ("team", requires(ADMINS, "team")(team)),
        ("stats", requires(ADMINS, "stats")(stats)),
        ("broadcasts", requires(ADMINS, "broadcasts")(broadcasts)),
        ("subscribe", subscribe),
        ("unsubscribe", unsubscribe),
    ):
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(
        CallbackQueryHandler(
            requires(ADMINS, "broadcast.cancel")(cancel_broadcast),
            pattern=f"^{CANCEL_BROADCAST}",
        )
    )
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            watch_disk, interval=DISK_EVERY, first=DISK_EVERY, name="disk space", data=DiskWatch()
        )
    # The role is checked again at the press: a revoked admin's old "Yes" does nothing.
    application.add_handler(
        CallbackQueryHandler(requires(ADMINS, "role.confirm")(confirmed), pattern=f"^{CONFIRM}")
    )
