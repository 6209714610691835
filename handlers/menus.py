"""The command menu Telegram shows: one for everyone, another per reviewer or admin chat."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import N_, WRITTEN_LOCALES, translate
from bot.i18n import gettext as _
from bot.models import Role

log = logging.getLogger(__name__)

RELATIVE = {
    "start": N_("Start or continue"),
    "back": N_("One step back"),
    "cancel": N_("Stop and delete unsent answers"),
    "status": N_("Status of a case: /status RECEIPT"),
    "withdraw": N_("Withdraw a case: /withdraw RECEIPT"),
    "subscribe": N_("Receive news about protests"),
    "unsubscribe": N_("Stop news about protests"),
    "language": N_("Change language"),
    "privacy": N_("Who can read what you send"),
    "forget": N_("Delete my account from the bot"),
    "help": N_("Help"),
}
REVIEWER = {
    "language": N_("Change language"),
    "help": N_("Help"),
}
ADMIN = {
    "broadcast": N_("Send news to subscribers"),
    "broadcasts": N_("Recent broadcasts"),
    "stats": N_("Numbers: cases, subscribers, deliveries"),
    "team": N_("Reviewers and admins"),
    "grant": N_("Give a role: /grant reviewer ID"),
    "revoke": N_("Take a role away: /revoke ID"),
    "language": N_("Change language"),
    "help": N_("Help"),
}


def command_list(role: Role) -> str:
    """/help's list of the commands she has, in the current language: the relative's, then a
    reviewer's or an admin's own under their heading."""

    def lines(table: dict[str, str], skip: dict[str, str]) -> list[str]:
        return [f"/{name}: {_(text)}" for name, text in table.items() if name not in skip]

    listed = lines(RELATIVE, {})
    if role != Role.RELATIVE:
        staff = ADMIN if role == Role.ADMIN else REVIEWER
        extra = lines(staff, RELATIVE)
        if extra:
            listed += ["", _("For the team:"), *extra]
    return "\n".join(listed)


def _commands(table: dict[str, str], locale: str) -> list[BotCommand]:
    return [BotCommand(name, translate(locale, text)) for name, text in table.items()]


async def set_default_commands(bot: Bot, default_locale: str) -> None:
    """The relative's menu, in each language Telegram clients may ask for."""
    # Telegram knows two-letter language codes; kk_Arab readers see their own menu via
    # the per-chat scope only when staff, so the Cyrillic kk menu serves them here.
    for locale in WRITTEN_LOCALES:
        await bot.set_my_commands(_commands(RELATIVE, locale), language_code=locale)
    await bot.set_my_commands(_commands(RELATIVE, default_locale))


async def set_commands_for(bot: Bot, chat_id: int, role: Role, locale: str) -> None:
    """A staff member's own menu in her chat; a relative's chat falls back to the default."""
    scope = BotCommandScopeChat(chat_id)
    try:
        if role == Role.RELATIVE:
            await bot.delete_my_commands(scope=scope)
        else:
            table = ADMIN if role == Role.ADMIN else REVIEWER
            await bot.set_my_commands(_commands(table, locale), scope=scope)
    except TelegramError as exc:
        log.warning("command menu not set: %s", type(exc).__name__)
