"""What handlers share: the role guard, declared once where a handler is registered."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import AigaqContext
from bot.i18n import gettext as _
from bot.models import Role
from handlers.common import not_understood

ADMINS = (Role.ADMIN,)
STAFF = (Role.REVIEWER, Role.ADMIN)

T = TypeVar("T")
Callback = Callable[[Update, AigaqContext], Coroutine[Any, Any, T]]


async def allowed(
    update: Update, context: AigaqContext, roles: Iterable[Role], action: str
) -> bool:
    """The role, checked in the database now. A refusal looks like an unknown command (or an
    out-of-date button) and is audited by the role service."""
    user = update.effective_user
    if user is not None and await context.services.roles.allowed(user.id, roles, action=action):
        return True
    if update.callback_query is not None:
        await update.callback_query.answer(
            _("This button is out of date. Send /start to begin again.")
        )
    else:
        await not_understood(update, context)
    return False


def requires(roles: Iterable[Role], action: str) -> Callable[[Callback[T]], Callback[T | int]]:
    """Guard a handler: `CommandHandler("grant", requires(ADMINS, "grant")(grant))`. The
    role is checked at each use (a revoked admin's old button does nothing), and a refusal
    ends the conversation it was part of."""
    roles = tuple(roles)

    def guard(callback: Callback[T]) -> Callback[T | int]:
        @functools.wraps(callback)
        async def guarded(update: Update, context: AigaqContext) -> T | int:
            if not await allowed(update, context, roles, action):
                return ConversationHandler.END
            return await callback(update, context)

        return guarded

    return guard
