"""One Bot API call: its parameters, and the checks Telegram applies to most methods."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from bot.localapi.records import CALLBACK_DATA_LIMIT, ApiError, bad_request

if TYPE_CHECKING:
    from bot.localapi.api import LocalBotApi

Handler = Callable[["LocalBotApi", "Params"], Any]
Upload = tuple[str, bytes | IO[bytes], str]  # what RequestData.multipart_data holds


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


def utf16_length(text: str) -> int:
    """Telegram counts UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def known_chat(api: LocalBotApi, params: Params) -> int:
    chat_id = params.chat_id()
    if chat_id < 0 and chat_id not in api.chat_info:
        raise bad_request("chat not found")
    return chat_id


def writable_chat(api: LocalBotApi, params: Params) -> int:
    chat_id = known_chat(api, params)
    if chat_id in api.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if chat_id in api.left:
        raise ApiError(403, "Forbidden: bot is not a member of the group chat")
    return chat_id


def inline_keyboard(params: Params) -> dict[str, Any] | None:
    """The call's inline keyboard, refused as Telegram refuses a malformed one."""
    reply_markup = params.get("reply_markup")
    if isinstance(reply_markup, str):
        reply_markup = json.loads(reply_markup)
    for row in (reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
            if set(button) <= {"text"}:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
    return reply_markup
