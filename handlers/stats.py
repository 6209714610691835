"""/stats for admins: counts only, never content, every key shown as a word of her language."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from telegram import Update

from bot.context import AigaqContext
from bot.i18n import LOCALE_NAMES, N_
from bot.i18n import gettext as _
from bot.models import CaseStatus, DeliveryState
from bot.services.stats import Stats, collect
from handlers.cases import STATUS_LABELS

DELIVERY_LABELS = {
    DeliveryState.PENDING: N_("waiting to be sent"),
    DeliveryState.SENDING: N_("being sent"),
    DeliveryState.SENT: N_("sent"),
    DeliveryState.FAILED: N_("could not be delivered"),
    DeliveryState.BLOCKED: N_("the person blocked the bot"),
}


def _status(key: str) -> str:
    try:
        return _(STATUS_LABELS[CaseStatus(key)])
    except (KeyError, ValueError):
        return key


def _delivery(key: str) -> str:
    try:
        return _(DELIVERY_LABELS[DeliveryState(key)])
    except (KeyError, ValueError):
        return key


def _language(key: str) -> str:
    return LOCALE_NAMES.get(key) or key or _("no language chosen")


def _week(key: str) -> str:
    """An ISO week ("2026-W47") as words."""
    year, _sep, week = key.partition("-W")
    return _("week {week} of {year}").format(week=int(week), year=year) if week else key


def report(figures: Stats) -> str:
    """The numbers, each block titled, each key a label."""

    def block(title: str, values: Iterable[tuple[str, int]]) -> str:
        rows = [f"  {name}: {count}" for name, count in values]
        return "\n".join([title, *(rows or ["  —"])])

    def named(counts: dict[str, int], word: Callable[[str], str]) -> list[tuple[str, int]]:
        return sorted((word(key), count) for key, count in counts.items())

    return "\n\n".join(
        [
            block(_("Cases by status:"), named(figures.cases_by_status, _status)),
            block(_("Cases by language:"), named(figures.cases_by_language, _language)),
            block(_("Cases by week:"), [(_week(k), n) for k, n in figures.cases_by_week]),
            block(
                _("Subscribers by language:"),
                named(figures.subscribers_by_language, _language),
            ),
            block(_("Deliveries:"), named(figures.deliveries_by_state, _delivery)),
        ]
    )


async def stats(update: Update, context: AigaqContext) -> None:
    """/stats: numbers only."""
    message = update.effective_message
    if message is None:
        return
    figures = await collect(context.services.sessionmaker)
    await message.reply_text(report(figures), protect_content=True)
