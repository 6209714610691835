"""Bot API methods on messages: send, edit and delete them, answer their buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.localapi.calls import Params, inline_keyboard, utf16_length, writable_chat
from bot.localapi.records import (
    CAPTION_LIMIT,
    DELETE_WINDOW,
    TEXT_LIMIT,
    ApiError,
    ChatMessage,
    StoredFile,
    bad_request,
)

if TYPE_CHECKING:
    from bot.localapi.api import LocalBotApi

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


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


def send_message(api: LocalBotApi, params: Params) -> dict[str, Any]:
    chat_id = writable_chat(api, params)
    text = str(params.get("text") or "")
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    markup = inline_keyboard(params)
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
    chat_id = writable_chat(api, params)
    caption = params.get("caption")
    if caption is not None and utf16_length(str(caption)) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    markup = inline_keyboard(params)
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


def send_photo(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _send_media(api, params, "photo")


def send_document(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _send_media(api, params, "document")


def send_voice(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _send_media(api, params, "voice")


def send_chat_action(api: LocalBotApi, params: Params) -> bool:
    writable_chat(api, params)
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


def edit_message_text(api: LocalBotApi, params: Params) -> dict[str, Any]:
    message = _editable(api, params)
    if message.media is not None:
        raise bad_request("there is no text in the message to edit")
    text = str(params.get("text") or "")
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    message.parse_mode = params.get("parse_mode")
    return _edit(api, message, text=text, reply_markup=inline_keyboard(params))


def edit_message_caption(api: LocalBotApi, params: Params) -> dict[str, Any]:
    message = _editable(api, params)
    if message.media is None:
        raise bad_request("there is no caption in the message to edit")
    caption = params.get("caption")
    if caption is not None and utf16_length(str(caption)) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return _edit(api, message, caption=caption, reply_markup=inline_keyboard(params))


def edit_message_reply_markup(api: LocalBotApi, params: Params) -> dict[str, Any]:
    return _edit(api, _editable(api, params), reply_markup=inline_keyboard(params))


def _delete(api: LocalBotApi, chat_id: int, message_id: int) -> None:
    message = api.find(chat_id, message_id)
    if message is None:
        raise bad_request("message to delete not found")
    if api.now - message.date > DELETE_WINDOW:
        raise bad_request("message can't be deleted for everyone")
    message.deleted = True


def delete_message(api: LocalBotApi, params: Params) -> bool:
    _delete(api, params.chat_id(), params.number("message_id"))
    return True


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


# -- buttons -------------------------------------------------------------------------


def answer_callback_query(api: LocalBotApi, params: Params) -> bool:
    text = params.get("text")
    if text is not None and utf16_length(str(text)) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    if not api.close_callback_query(str(params.get("callback_query_id")), dict(params.values)):
        raise bad_request(QUERY_TOO_OLD)
    return True
