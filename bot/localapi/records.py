"""What the fake Bot API remembers, and how it words its answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

BOT_ID = 777000111
BOT_USERNAME = "aigaq_test_bot"
DELETE_WINDOW = 48 * 3600  # seconds: older messages can't be deleted for everyone
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bytes: getFile refuses bigger files
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes

Response = tuple[int, bytes]

# Telegram's own words for the errors tests ask for by status code.
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer, raised by a method and turned into Telegram's JSON."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def response(self) -> Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return self.code, json.dumps(body).encode()


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def ok(result: Any) -> Response:
    return 200, json.dumps({"ok": True, "result": result}).encode()


@dataclass
class ChatMessage:
    """One message in a chat, from either side, as Telegram keeps it."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: float
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    protect_content: bool = False
    parse_mode: str | None = None
    media: str | None = None  # "photo", "voice", "document", … or None for text
    file_id: str | None = None
    reply_to: int | None = None
    deleted: bool = False
    edits: int = 0
    edited_at: float | None = None
    # Everything else in the Message JSON (the media objects, entities), as sent.
    content: dict[str, Any] = field(default_factory=dict)

    @property
    def shown_text(self) -> str:
        return self.text or self.caption or ""

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of its inline keyboard, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class StoredFile:
    """A file Telegram holds: sent by a user, or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    declared_size: int

    def as_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.declared_size,
        }


@dataclass
class Call:
    """One Bot API call as the bot made it."""

    method: str
    params: dict[str, Any]
