"""The Bot API methods the fake answers, with the checks and errors Telegram applies.

Methods on messages live in `messages`; files, commands, chats, the bot itself and how it
gets updates are here, and `METHODS` at the end names them all.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from bot.localapi import messages
from bot.localapi.calls import Handler, Params, known_chat
from bot.localapi.records import DOWNLOAD_LIMIT, ApiError, bad_request

if TYPE_CHECKING:
    from bot.localapi.api import LocalBotApi

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
COMMAND = re.compile(r"[a-z0-9_]{1,32}")


# -- files, commands, chats ---------------------------------------------------------------


def get_file(api: LocalBotApi, params: Params) -> dict[str, Any]:
    stored = api.files.get(str(params.get("file_id")))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.declared_size > DOWNLOAD_LIMIT:
        raise bad_request("file is too big")
    return stored.as_json() | {"file_path": stored.file_path}


def _commands_key(params: Params) -> str:
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    return f"{scope}:{params.get('language_code') or ''}"


def set_my_commands(api: LocalBotApi, params: Params) -> bool:
    commands = list(params.get("commands") or [])
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        if not COMMAND.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    api.commands[_commands_key(params)] = commands
    return True


def delete_my_commands(api: LocalBotApi, params: Params) -> bool:
    api.commands.pop(_commands_key(params), None)
    return True


def get_my_commands(api: LocalBotApi, params: Params) -> list[dict[str, Any]]:
    return api.commands.get(_commands_key(params), [])


def get_chat(api: LocalBotApi, params: Params) -> dict[str, Any]:
    chat = api.chat_json(known_chat(api, params))
    return chat | {"accent_color_id": 0, "max_reaction_count": 11}


def leave_chat(api: LocalBotApi, params: Params) -> bool:
    api.left.add(known_chat(api, params))
    return True


# -- the bot itself and how it gets updates ---------------------------------------------


def get_me(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return api.bot_user


def close(api: LocalBotApi, params: Params) -> bool:
    return True


def set_webhook(api: LocalBotApi, params: Params) -> bool:
    api.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
    return True


def delete_webhook(api: LocalBotApi, params: Params) -> bool:
    api.webhook = {"url": ""}
    if params.get("drop_pending_updates"):
        api.drop_pending_updates()
    return True


def get_webhook_info(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return {
        "url": api.webhook.get("url") or "",
        "has_custom_certificate": False,
        "pending_update_count": api.pending_update_count,
    }


async def get_updates(api: LocalBotApi, params: Params) -> list[dict[str, Any]]:
    if api.webhook.get("url"):
        raise ApiError(409, WEBHOOK_ACTIVE)
    return await api.poll(
        offset=int(params.get("offset") or 0),
        wait=float(params.get("timeout") or 0),
        limit=int(params.get("limit") or 100),
    )


METHODS: dict[str, Handler] = {
    "sendMessage": messages.send_message,
    "sendPhoto": messages.send_photo,
    "sendDocument": messages.send_document,
    "sendVoice": messages.send_voice,
    "sendChatAction": messages.send_chat_action,
    "editMessageText": messages.edit_message_text,
    "editMessageCaption": messages.edit_message_caption,
    "editMessageReplyMarkup": messages.edit_message_reply_markup,
    "deleteMessage": messages.delete_message,
    "deleteMessages": messages.delete_messages,
    "answerCallbackQuery": messages.answer_callback_query,
    "getFile": get_file,
    "setMyCommands": set_my_commands,
    "deleteMyCommands": delete_my_commands,
    "getMyCommands": get_my_commands,
    "getChat": get_chat,
    "leaveChat": leave_chat,
    "getMe": get_me,
    "close": close,
    "logOut": close,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "getUpdates": get_updates,
}
