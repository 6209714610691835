"""The trial page's chat as a Telegram app shows it: long texts in parts, photos, buttons."""

from __future__ import annotations

from typing import Any

from bot.localapi import ChatMessage, LocalBotApi
from bot.localapi.calls import utf16_length
from bot.localapi.records import TEXT_LIMIT

# Where a Telegram app prefers to cut a long text: a paragraph, a line, a sentence, a word.
BREAKS = ("\n\n", "\n", ". ", " ")
MAX_PARTS = 16  # the page lets no one type more than this many messages' worth at once
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _fitting(text: str, limit: int) -> int:
    """How many characters of the text fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_typed(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """The messages a Telegram app sends for a typed text: none longer than Telegram takes,
    cut where a reader would (a paragraph, line, sentence or word) if one is near."""
    parts: list[str] = []
    rest = text.strip()
    while utf16_length(rest) > limit:
        fits = _fitting(rest, limit)
        cut = fits
        for mark in BREAKS:
            at = rest.rfind(mark, 0, fits)
            if at >= fits // 2:
                cut = at + len(mark)
                break
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    parts.append(rest)
    return [part for part in parts if part]


def image_type(data: bytes) -> str | None:
    """The media type of a photo the browser may show (PNG, JPEG, GIF, WebP), else None."""
    for magic, media_type in _IMAGES:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def photo_of(api: LocalBotApi, chat_id: int, message_id: int) -> tuple[bytes, str] | None:
    """A photo in this chat, and its media type, if the browser can show it."""
    message = api.find(chat_id, message_id)
    if message is None or message.media != "photo" or message.file_id is None:
        return None
    stored = api.files.get(message.file_id)
    media_type = image_type(stored.data) if stored is not None else None
    if stored is None or media_type is None:
        return None
    return stored.data, media_type


def view(api: LocalBotApi, message: ChatMessage) -> dict[str, Any]:
    """One message as the page draws it: text, buttons row by row, its photo or file."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    buttons = [
        [
            {"text": str(b.get("text", "")), "data": str(b["callback_data"])}
            for b in row
            if "callback_data" in b
        ]
        for row in rows
    ]
    document = message.content.get("document")
    return {
        "id": message.message_id,
        "from_bot": message.from_bot,
        "text": message.shown_text,
        "buttons": [row for row in buttons if row],
        "protected": message.protect_content,
        "deleted": message.deleted,
        "edits": message.edits,
        "media": message.media,
        "file_name": document.get("file_name") if isinstance(document, dict) else None,
        "photo": photo_of(api, message.chat_id, message.message_id) is not None,
    }
