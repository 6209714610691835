"""An in-process Telegram Bot API: the real PTB Application talks to it, fully offline.

`LocalBotApi` is a `telegram.request.BaseRequest` that answers the Bot API methods the bot
uses, keeps every chat's messages (both sides), serves files users sent, and can be told to
fail (429, 403, 400, 5xx, timeouts) or to enforce Telegram's rate limits. `FakeUser` plays a
person in a private chat: she sends text, voice, photos and documents and presses buttons,
and each call returns once the Application has handled the update.

The tests use it, and so can a local trial of the bot; nothing here reaches the network.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ApplicationBuilder

from bot.localapi.api import LocalBotApi
from bot.localapi.records import (
    BOT_ID,
    BOT_USERNAME,
    DELETE_WINDOW,
    DOWNLOAD_LIMIT,
    Call,
    ChatMessage,
    StoredFile,
)
from bot.localapi.user import FakeUser

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "DELETE_WINDOW",
    "DOWNLOAD_LIMIT",
    "Call",
    "ChatMessage",
    "FakeUser",
    "LocalBotApi",
    "StoredFile",
    "make_application_builder",
]


def make_application_builder(
    api: LocalBotApi,
    token: str = "123456:TEST",  # noqa: S107 - a fake bot's token, valid nowhere
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ApplicationBuilder whose bot talks only to this fake (file downloads included).

    Every request, downloads too, goes through `api` whatever the base URLs, so PTB's
    defaults stay; the caller adds persistence, handlers and the rest.
    """
    return Application.builder().token(token).request(api).get_updates_request(api)
