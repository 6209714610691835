"""The Bot API methods the bot uses, with the checks and errors Telegram applies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from bot.localapi.records import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    DELETE_WINDOW,
    DOWNLOAD_LIMIT,
    TEXT_LIMIT,
    ApiError,
    ChatMessage,
    StoredFile,
    bad_request,
)

if TYPE_CHECKING:
    from bot.localapi.api import LocalBotApi

Handler = Callable[["LocalBotApi", "Params"], Any]
Upload = tuple[str, bytes | IO[bytes], str]  # what RequestData.multipart_data holds
METHODS: dict[str, Handler] = {}

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def method(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            METHODS[name] = handler
        return handler

    return register


@dataclass
class Params:
    """One call's parameters (already decoded by PTB) and uploaded files."""

    values: dict[str, Any]
    uploads: dict[str, Upload]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def number(self, name: str) -> int:
        try:
            return int(self.values[name])
        except KeyError:
            raise bad_request(f"{name} is empty") from None
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def optional_chat_id(self) -> int | None:
        try:
            return int(self.values["chat_id"])
        except (KeyError, TypeError, ValueError):
            return None

    def chat_id(self) -> int:
        if "chat_id" not in self.values:
            raise bad_request("chat_id is empty")
        chat_id = self.optional_chat_id()
        if chat_id is None:  # "@username" of a channel we don't play
            raise bad_request("chat not found")
        return chat_id

    def upload(self, name: str) -> tuple[bytes, str | None, str | None] | None:
        """The bytes, file name and MIME type of a file the bot uploaded as `name`."""
        part = self.uploads.get(name)
        if part is None:
            return None
        file_name, content, mime_type = part
        data = content if isinstance(content, bytes) else content.read()
        return data, file_name, mime_type


def _length(text: str) -> int:
    """Telegram counts UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _known_chat(api: LocalBotApi, params: Params) -> int:
    chat_id = params.chat_id()
    if chat_id < 0 and chat_id not in api.chat_info:
        raise bad_request("chat not found")
    return chat_id


def _writable_chat(api: LocalBotApi, params: Params) -> int:
    chat_id = _known_chat(api, params)
    if chat_id in api.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if chat_id in api.left:
        raise ApiError(403, "Forbidden: bot is not a member of the group chat")
    return chat_id


def _markup(params: Params) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
            if set(button) <= {"text"}:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
    return markup


def _reply_to(api: LocalBotApi, chat_id: int, params: Params) -> int | None:
    reply = params.get("reply_parameters")
    if not isinstance(reply, dict) or "message_id" not in reply:
        return None
    message_id = int(reply["message_id"])
    if api.find(int(reply.get("chat_id", chat_id)), message_id) is not None:
        return message_id
    if reply.get("allow_sending_without_reply"):
        return None
    raise bad_request("message to be replied not found")


# -- sending ---------------------------------------------------------------------------


@method("sendMessage")
def send_message(api: LocalBotApi, params: Params) -> dict[str, Any]:
    chat_id = _writable_chat(api, params)
    text = str(params.get("text") or "")
    if not text.strip():
        raise bad_request("message text is empty")
    if _length(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    markup = _markup(params)
    reply_to = _reply_to(api, chat_id, params)
    message = api.add_message(
        chat_id,
        from_bot=True,
        text=text,
        reply_markup=markup,
        protect_content=bool(params.get("protect_content", False)),
        parse_mode=params.get("parse_mode"),
        reply_to=reply_to,
    )
    if params.get("entities"):
        message.content["entities"] = params.get("entities")
    return api.message_json(message)


def _file_to_send(api: LocalBotApi, params: Params, kind: str) -> tuple[StoredFile, dict[str, Any]]:
    """The file the bot sends (uploaded now, or by file_id/URL) and its name and type."""
    upload = params.upload(kind)
    if upload is not None:
        data, file_name, mime_type = upload
        stored = api.register_file(data, kind=kind, file_name=file_name)
        return stored, {"file_name": file_name, "mime_type": mime_type}
    value = params.get(kind)
    if not isinstance(value, str) or not value:
        raise bad_request(f"there is no {kind} in the request")
    if value in api.files:
        return api.files[value], {}
    if value.startswith(("http://", "https://")):
        return api.register_file(b"", kind=kind), {}
    raise bad_request("wrong file identifier/HTTP URL specified")


def _media_json(stored: StoredFile, kind: str, about: dict[str, Any]) -> Any:
    base = stored.as_json()
    if kind == "photo":
        return [base | {"width": 90, "height": 90}, base | {"width": 1280, "height": 960}]
    extra = {key: value for key, value in about.items() if value}
    if kind == "voice":
        extra.pop("file_name", None)  # a Voice has no name
        return base | {"duration": 1, "mime_type": "audio/ogg"} | extra
    if kind in ("audio", "video"):
        return base | {"duration": 1, "width": 640, "height": 480} | extra
    return base | extra


def _send_media(api: LocalBotApi, params: Params, kind: str) -> dict[str, Any]:
    chat_id = _writable_chat(api, params)
    caption = params.get("caption")
    if caption is not None and _length(str(caption)) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    markup = _markup(params)
    reply_to = _reply_to(api, chat_id, params)
    stored, about = _file_to_send(api, params, kind)
    message = api.add_message(
        chat_id,
        from_bot=True,
        caption=caption,
        reply_markup=markup,
        protect_content=bool(params.get("protect_content", False)),
        parse_mode=params.get("parse_mode"),
        media=kind,
        file_id=stored.file_id,
        reply_to=reply_to,
        content={kind: _media_json(stored, kind, about)},
    )
    return api.message_json(message)


@method("sendPhoto")
def send_photo(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _send_media(api, params, "photo")


@method("sendDocument")
def send_document(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _send_media(api, params, "document")


@method("sendVoice")
def send_voice(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _send_media(api, params, "voice")


@method("sendChatAction")
def send_chat_action(api: LocalBotApi, params: Params) -> bool:
    _writable_chat(api, params)
    return True


# -- editing and deleting ---------------------------------------------------------------


def _editable(api: LocalBotApi, params: Params) -> ChatMessage:
    message = api.find(params.chat_id(), params.number("message_id"))
    if message is None:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _edit(api: LocalBotApi, message: ChatMessage, **changes: Any) -> dict[str, Any]:
    if all(getattr(message, name) == value for name, value in changes.items()):
        raise bad_request(NOT_MODIFIED)
    for name, value in changes.items():
        setattr(message, name, value)
    message.edits += 1
    message.edited_at = api.now
    return api.message_json(message)


@method("editMessageText")
def edit_message_text(api: LocalBotApi, params: Params) -> dict[str, Any]:
    message = _editable(api, params)
    if message.media is not None:
        raise bad_request("there is no text in the message to edit")
    text = str(params.get("text") or "")
    if not text.strip():
        raise bad_request("message text is empty")
    if _length(text) > TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    message.parse_mode = params.get("parse_mode")
    return _edit(api, message, text=text, reply_markup=_markup(params))


@method("editMessageCaption")
def edit_message_caption(api: LocalBotApi, params: Params) -> dict[str, Any]:
    message = _editable(api, params)
    if message.media is None:
        raise bad_request("there is no caption in the message to edit")
    caption = params.get("caption")
    if caption is not None and _length(str(caption)) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return _edit(api, message, caption=caption, reply_markup=_markup(params))


@method("editMessageReplyMarkup")
def edit_message_reply_markup(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _edit(api, _editable(api, params), reply_markup=_markup(params))


def _delete(api: LocalBotApi, chat_id: int, message_id: int) -> None:
    message = api.find(chat_id, message_id)
    if message is None:
        raise bad_request("message to delete not found")
    if api.now - message.date > DELETE_WINDOW:
        raise bad_request("message can't be deleted for everyone")
    message.deleted = True


@method("deleteMessage")
def delete_message(api: LocalBotApi, params: Params) -> bool:
    _delete(api, params.chat_id(), params.number("message_id"))
    return True


@method("deleteMessages")
def delete_messages(api: LocalBotApi, params: Params) -> bool:
    """Deletes what it can and skips the rest; fails only if it deleted nothing."""
    chat_id = params.chat_id()
    message_ids = params.get("message_ids") or []
    if not 1 <= len(message_ids) <= 100:
        # The documented limit is 1-100 identifiers; this wording is ours.
        raise bad_request("message_ids must hold 1-100 identifiers")
    refusals: list[ApiError] = []
    for message_id in message_ids:
        try:
            _delete(api, chat_id, int(message_id))
        except ApiError as refusal:
            refusals.append(refusal)
    if len(refusals) == len(message_ids):
        raise refusals[0]
    return True


# -- buttons, files, commands, chats ---------------------------------------------------


@method("answerCallbackQuery")
def answer_callback_query(api: LocalBotApi, params: Params) -> bool:
    text = params.get("text")
    if text is not None and _length(str(text)) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    if not api.close_callback_query(str(params.get("callback_query_id")), dict(params.values)):
        raise bad_request(QUERY_TOO_OLD)
    return True


@method("getFile")
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


@method("setMyCommands")
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


@method("deleteMyCommands")
def delete_my_commands(api: LocalBotApi, params: Params) -> bool:
    api.commands.pop(_commands_key(params), None)
    return True


@method("getMyCommands")
def get_my_commands(api: LocalBotApi, params: Params) -> list[dict[str, Any]]:
    return api.commands.get(_commands_key(params), [])


@method("getChat")
def get_chat(api: LocalBotApi, params: Params) -> dict[str, Any]:
    chat = api.chat_json(_known_chat(api, params))
    return chat | {"accent_color_id": 0, "max_reaction_count": 11}


@method("leaveChat")
def leave_chat(api: LocalBotApi, params: Params) -> bool:
    api.left.add(_known_chat(api, params))
    return True


# -- the bot itself and how it gets updates ---------------------------------------------


@method("getMe")
def get_me(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return api.bot_user


@method("close", "logOut")
def close(api: LocalBotApi, params: Params) -> bool:
    return True


@method("setWebhook")
def set_webhook(api: LocalBotApi, params: Params) -> bool:
    api.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
    return True


@method("deleteWebhook")
def delete_webhook(api: LocalBotApi, params: Params) -> bool:
    api.webhook = {"url": ""}
    if params.get("drop_pending_updates"):
        api.drop_pending_updates()
    return True


@method("getWebhookInfo")
def get_webhook_info(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return {
        "url": api.webhook.get("url") or "",
        "has_custom_certificate": False,
        "pending_update_count": api.pending_update_count,
    }


@method("getUpdates")
async def get_updates(api: LocalBotApi, params: Params) -> list[dict[str, Any]]:
    if api.webhook.get("url"):
        raise ApiError(409, WEBHOOK_ACTIVE)
    return await api.poll(
        offset=int(params.get("offset") or 0),
        wait=float(params.get("timeout") or 0),
        limit=int(params.get("limit") or 100),
    )
