"""An in-process Telegram Bot API: the real PTB Application talks to it, fully offline.

`LocalBotApi` is a `telegram.request.BaseRequest` that answers the Bot API methods the bot
uses, keeps every chat's messages (both sides), serves files users sent, and can be told to
fail (429, 403, 400, 5xx, timeouts) or to enforce Telegram's rate limits. `FakeUser` plays a
person in a private chat: she sends text, voice, photos and documents and presses buttons,
and each call returns once the Application has handled the update.

The tests use it, and so can a local trial of the bot; nothing here reaches the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import TimedOut
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, RequestData

BOT_ID = 777000111
BOT_USERNAME = "aigaq_test_bot"
DELETE_WINDOW = 48 * 3600


@dataclass
class ChatMessage:
    """One message in a chat, as Telegram keeps it."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: float
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    protect_content: bool = False
    parse_mode: str | None = None
    media: str | None = None
    deleted: bool = False
    edits: int = 0

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of its inline keyboard, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    declared_size: int


@dataclass
class Failure:
    method: str
    chat_id: int | None
    times: int
    error_code: int | None
    description: str
    retry_after: int | None


@dataclass
class Call:
    method: str
    params: dict[str, Any]


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


def _error(code: int, description: str, retry_after: int | None = None) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return code, json.dumps(body).encode()


class LocalBotApi(BaseRequest):
    """Plays the Bot API in-process. Not thread-safe; one event loop."""

    def __init__(self) -> None:
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Aigaq",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.chats: dict[int, list[ChatMessage]] = {}
        self.files: dict[str, StoredFile] = {}
        self.log: list[Call] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self.clock_offset = 0.0
        self._next_message = itertools.count(1)
        self._ids = itertools.count(1)
        self._failures: list[Failure] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._rate: tuple[float, float] | None = None
        self._sent_at: deque[float] = deque()
        self._sent_at_chat: dict[int, deque[float]] = {}

    # -- the clock --------------------------------------------------------------------

    @property
    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move Telegram's clock forward (for the 48-hour delete rule, say)."""
        self.clock_offset += seconds

    # -- test controls ---------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        times: int = 1,
        error_code: int | None = 429,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `times` calls of a method (for one chat, or any) fail.

        error_code None means a timeout. Descriptions default to Telegram's own words.
        """
        defaults = {
            429: f"Too Many Requests: retry after {retry_after or 1}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        if error_code == 429 and retry_after is None:
            retry_after = 1
        self._failures.append(
            Failure(
                method,
                chat_id,
                times,
                error_code,
                description or defaults.get(error_code or 0, "Error"),
                retry_after,
            )
        )

    def enforce_rate(self, per_second: float = 30, per_chat_per_second: float = 1) -> None:
        """Answer 429 like Telegram when sends exceed these rates over a sliding second."""
        self._rate = (per_second, per_chat_per_second)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of a method, in order."""
        return [call.params for call in self.log if call.method == method]

    def user(
        self,
        *,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "kk",
        username: str | None = None,
    ) -> FakeUser:
        """A person in a private chat with the bot."""
        return FakeUser(self, user_id, first_name, language_code, username)

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (long polling); returns its update_id."""
        update = dict(update)
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def register_file(self, data: bytes, *, declared_size: int | None = None) -> StoredFile:
        """Keep a file a user sent, so getFile and the download work."""
        number = next(self._ids)
        stored = StoredFile(
            file_id=f"file-{number}-{len(data)}",
            file_unique_id=f"unique-{number}",
            file_path=f"documents/file_{number}",
            data=data,
            declared_size=len(data) if declared_size is None else declared_size,
        )
        self.files[stored.file_id] = stored
        return stored

    def add_message(self, chat_id: int, *, from_bot: bool, **fields: Any) -> ChatMessage:
        message = ChatMessage(
            message_id=next(self._next_message),
            chat_id=chat_id,
            from_bot=from_bot,
            date=self.now,
            **fields,
        )
        self.chats.setdefault(chat_id, []).append(message)
        return message

    def find(self, chat_id: int, message_id: int) -> ChatMessage | None:
        for message in self.chats.get(chat_id, []):
            if message.message_id == message_id and not message.deleted:
                return message
        return None

    # -- BaseRequest -----------------------------------------------------------------

    async def initialize(self) -> None:
        """Nothing to connect to."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if method == "GET":
            return self._download(url)
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        self.log.append(Call(api_method, params))
        failure = self._take_failure(api_method, params)
        if failure is not None:
            if failure.error_code is None:
                raise TimedOut("Timed out")
            return _error(failure.error_code, failure.description, failure.retry_after)
        limited = self._rate_limited(api_method, params)
        if limited is not None:
            return limited
        handler = getattr(self, "_m_" + api_method, None)
        if handler is None:
            return _error(404, "Not Found")
        if api_method.startswith("send") and api_method != "sendChatAction":
            return handler(params, files)
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    def _take_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        for failure in self._failures:
            chat = params.get("chat_id")
            if failure.method == method and failure.chat_id in (None, chat):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _rate_limited(self, method: str, params: dict[str, Any]) -> tuple[int, bytes] | None:
        if self._rate is None or not method.startswith(("send", "copy", "forward")):
            return None
        overall, per_chat = self._rate
        now = time.monotonic()
        while self._sent_at and now - self._sent_at[0] >= 1:
            self._sent_at.popleft()
        chat_id = int(params.get("chat_id", 0))
        chat_sends = self._sent_at_chat.setdefault(chat_id, deque())
        while chat_sends and now - chat_sends[0] >= 1:
            chat_sends.popleft()
        if len(self._sent_at) >= overall or len(chat_sends) >= per_chat:
            return _error(429, "Too Many Requests: retry after 1", retry_after=1)
        self._sent_at.append(now)
        chat_sends.append(now)
        return None

    def _download(self, url: str) -> tuple[int, bytes]:
        for stored in self.files.values():
            if url.endswith("/" + stored.file_path):
                return 200, stored.data
        return 404, b"Not Found"

    # -- Bot API methods --------------------------------------------------------------

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Test"}
        return {"id": chat_id, "type": "group", "title": "Group"}

    def message_json(
        self, message: ChatMessage, sender: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(message.date),
            "chat": self._chat_json(message.chat_id),
            "from": sender or self.bot_user,
        }
        if message.text is not None:
            data["text"] = message.text
        if message.caption is not None:
            data["caption"] = message.caption
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.protect_content:
            data["has_protected_content"] = True
        if message.edits:
            data["edit_date"] = int(self.now)
        return data

    def _m_getMe(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(self.bot_user)

    def _m_sendMessage(self, params: dict[str, Any], files: Any) -> tuple[int, bytes]:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        message = self.add_message(
            chat_id,
            from_bot=True,
            text=text,
            reply_markup=params.get("reply_markup"),
            protect_content=bool(params.get("protect_content", False)),
            parse_mode=params.get("parse_mode"),
        )
        return _ok(self.message_json(message))

    def _send_media(self, kind: str, params: dict[str, Any]) -> tuple[int, bytes]:
        message = self.add_message(
            int(params["chat_id"]),
            from_bot=True,
            caption=params.get("caption"),
            reply_markup=params.get("reply_markup"),
            protect_content=bool(params.get("protect_content", False)),
            media=kind,
        )
        data = self.message_json(message)
        stored = self.register_file(b"")
        if kind == "photo":
            data["photo"] = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": 1,
                    "height": 1,
                }
            ]
        else:
            data[kind] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            if kind == "voice":
                data[kind]["duration"] = 1
        return _ok(data)

    def _m_sendPhoto(self, params: dict[str, Any], files: Any) -> tuple[int, bytes]:
        return self._send_media("photo", params)

    def _m_sendDocument(self, params: dict[str, Any], files: Any) -> tuple[int, bytes]:
        return self._send_media("document", params)

    def _m_sendVoice(self, params: dict[str, Any], files: Any) -> tuple[int, bytes]:
        return self._send_media("voice", params)

    def _m_sendChatAction(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(True)

    def _edit(self, params: dict[str, Any], **changes: Any) -> tuple[int, bytes]:
        message = self.find(int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        for name, value in changes.items():
            setattr(message, name, value)
        message.edits += 1
        return _ok(self.message_json(message))

    def _m_editMessageText(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return self._edit(params, text=params.get("text"), reply_markup=params.get("reply_markup"))

    def _m_editMessageCaption(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return self._edit(
            params, caption=params.get("caption"), reply_markup=params.get("reply_markup")
        )

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return self._edit(params, reply_markup=params.get("reply_markup"))

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(True)

    def _delete_one(self, chat_id: int, message_id: int) -> bool:
        message = self.find(chat_id, message_id)
        if message is None or self.now - message.date > DELETE_WINDOW:
            return False
        message.deleted = True
        return True

    def _m_deleteMessage(self, params: dict[str, Any]) -> tuple[int, bytes]:
        if self._delete_one(int(params["chat_id"]), int(params["message_id"])):
            return _ok(True)
        return _error(400, "Bad Request: message can't be deleted for everyone")

    def _m_deleteMessages(self, params: dict[str, Any]) -> tuple[int, bytes]:
        chat_id = int(params["chat_id"])
        results = [self._delete_one(chat_id, int(i)) for i in params.get("message_ids", [])]
        if results and not any(results):
            return _error(400, "Bad Request: message can't be deleted for everyone")
        return _ok(True)

    def _m_getFile(self, params: dict[str, Any]) -> tuple[int, bytes]:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            return _error(400, "Bad Request: invalid file_id")
        if stored.declared_size > 20 * 1024 * 1024:
            return _error(400, "Bad Request: file is too big")
        return _ok(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.declared_size,
                "file_path": stored.file_path,
            }
        )

    def _m_setMyCommands(self, params: dict[str, Any]) -> tuple[int, bytes]:
        key = f"{json.dumps(params.get('scope'))}:{params.get('language_code', '')}"
        self.commands[key] = list(params.get("commands", []))
        return _ok(True)

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> tuple[int, bytes]:
        key = f"{json.dumps(params.get('scope'))}:{params.get('language_code', '')}"
        self.commands.pop(key, None)
        return _ok(True)

    def _m_getMyCommands(self, params: dict[str, Any]) -> tuple[int, bytes]:
        key = f"{json.dumps(params.get('scope'))}:{params.get('language_code', '')}"
        return _ok(self.commands.get(key, []))

    def _m_leaveChat(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(True)

    def _m_getChat(self, params: dict[str, Any]) -> tuple[int, bytes]:
        chat = self._chat_json(int(params["chat_id"]))
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        return _ok(chat)

    def _m_setWebhook(self, params: dict[str, Any]) -> tuple[int, bytes]:
        self.webhook = {"url": params.get("url", ""), "secret": params.get("secret_token")}
        return _ok(True)

    def _m_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, bytes]:
        self.webhook = {"url": ""}
        return _ok(True)

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(
            {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
        )

    async def _m_getUpdates(self, params: dict[str, Any]) -> tuple[int, bytes]:
        offset = int(params.get("offset", 0) or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update.clear()
            timeout = min(float(params.get("timeout", 0) or 0), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout=timeout)
        limit = int(params.get("limit", 100) or 100)
        return _ok(self._updates[:limit])

    def _m_close(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(True)

    def _m_logOut(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return _ok(True)


@dataclass
class FakeUser:
    """A person in a private chat with the bot. Each action waits until it was handled."""

    api: LocalBotApi
    user_id: int
    first_name: str = "Test"
    language_code: str | None = "kk"
    username: str | None = None
    application: Application[Any, Any, Any, Any, Any, Any] | None = None
    _callbacks: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def chat_id(self) -> int:
        return self.user_id

    def as_user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data

    # -- what she sees -----------------------------------------------------------------

    @property
    def all_messages(self) -> list[ChatMessage]:
        """Both sides of the chat, deleted ones included (see `deleted`)."""
        return list(self.api.chats.get(self.chat_id, []))

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages she can still see, oldest first."""
        return [m for m in self.all_messages if m.from_bot and not m.deleted]

    @property
    def last(self) -> ChatMessage:
        return self.messages[-1]

    @property
    def last_text(self) -> str:
        message = self.last
        return message.text or message.caption or ""

    def buttons(self, message: ChatMessage | None = None) -> list[tuple[str, str]]:
        """The inline buttons of a message (default: the bot's last one)."""
        return (message or self.last).buttons()

    # -- what she does ------------------------------------------------------------------

    async def _feed(self, update: dict[str, Any]) -> None:
        if self.application is None:
            raise RuntimeError("FakeUser.application is not set")
        update.setdefault("update_id", next(self.api._update_ids))
        await self.application.process_update(Update.de_json(update, self.application.bot))

    async def _send(self, **content: Any) -> ChatMessage:
        message = self.api.add_message(
            self.chat_id,
            from_bot=False,
            text=content.get("text"),
            caption=content.get("caption"),
            media=next((k for k in content if k not in ("text", "caption", "entities")), None),
        )
        data = self.api.message_json(message, sender=self.as_user())
        data["chat"] = {"id": self.chat_id, "type": "private", "first_name": self.first_name}
        data.update(content)
        await self._feed({"message": data})
        return message

    async def send_text(self, text: str) -> ChatMessage:
        return await self._send(text=text)

    async def send_command(self, command: str, args: str = "") -> ChatMessage:
        text = f"/{command}" + (f" {args}" if args else "")
        entity = {"type": "bot_command", "offset": 0, "length": len(command) + 1}
        return await self._send(text=text, entities=[entity])

    def _file(self, data: bytes, declared_size: int | None = None) -> dict[str, Any]:
        stored = self.api.register_file(data, declared_size=declared_size)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.declared_size,
        }

    async def send_voice(
        self,
        data: bytes,
        duration: int = 3,
        mime: str = "audio/ogg",
        declared_size: int | None = None,
    ) -> ChatMessage:
        voice = self._file(data, declared_size) | {"duration": duration, "mime_type": mime}
        return await self._send(voice=voice)

    async def send_audio(self, data: bytes, duration: int = 30) -> ChatMessage:
        audio = self._file(data) | {"duration": duration, "mime_type": "audio/mpeg"}
        return await self._send(audio=audio)

    async def send_photo(
        self,
        data: bytes,
        width: int = 1280,
        height: int = 960,
        caption: str | None = None,
        declared_size: int | None = None,
    ) -> ChatMessage:
        thumbnail = self._file(data[:64]) | {"width": 90, "height": 68}
        full = self._file(data, declared_size) | {"width": width, "height": height}
        content: dict[str, Any] = {"photo": [thumbnail, full]}
        if caption:
            content["caption"] = caption
        return await self._send(**content)

    async def send_document(
        self,
        data: bytes,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        declared_size: int | None = None,
    ) -> ChatMessage:
        document = self._file(data, declared_size) | {
            "file_name": file_name,
            "mime_type": mime_type,
        }
        return await self._send(document=document)

    async def send_video(
        self, data: bytes, duration: int = 5, declared_size: int | None = None
    ) -> ChatMessage:
        video = self._file(data, declared_size) | {
            "width": 640,
            "height": 480,
            "duration": duration,
            "mime_type": "video/mp4",
        }
        return await self._send(video=video)

    async def send_sticker(self) -> ChatMessage:
        sticker = self._file(b"sticker") | {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._send(sticker=sticker)

    async def send_location(self, latitude: float, longitude: float) -> ChatMessage:
        return await self._send(location={"latitude": latitude, "longitude": longitude})

    async def send_contact(self, phone_number: str = "+77000000000") -> ChatMessage:
        return await self._send(contact={"phone_number": phone_number, "first_name": "Someone"})

    async def send_poll(self) -> ChatMessage:
        poll = {
            "id": "poll-1",
            "question": "?",
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "options": [{"text": "a", "voter_count": 0}, {"text": "b", "voter_count": 0}],
        }
        return await self._send(poll=poll)

    async def press(self, data: str, message_id: int | None = None) -> None:
        """Press an inline button: by default on the newest bot message that has it.

        With an explicit message_id the data need not be on that message (a forged press).
        """
        target: ChatMessage | None = None
        if message_id is None:
            for message in reversed(self.messages):
                if any(button_data == data for _text, button_data in message.buttons()):
                    target = message
                    break
            if target is None:
                raise AssertionError(f"no visible button with callback data {data!r}")
        else:
            target = self.api.find(self.chat_id, message_id)
        if target is not None:
            message_data = self.api.message_json(target)
        else:
            message_data = {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": self.chat_id, "type": "private", "first_name": self.first_name},
            }
        query = {
            "id": f"cq-{self.user_id}-{next(self._callbacks)}",
            "from": self.as_user(),
            "chat_instance": f"ci-{self.chat_id}",
            "data": data,
            "message": message_data,
        }
        await self._feed({"callback_query": query})

    async def add_to_group(
        self, application: Application[Any, Any, Any, Any, Any, Any], chat_id: int
    ) -> None:
        """Add the bot to a group, as this user: Telegram's my_chat_member update."""
        self.application = application
        bot = self.api.bot_user
        await self._feed(
            {
                "my_chat_member": {
                    "chat": {"id": chat_id, "type": "group", "title": "Group"},
                    "from": self.as_user(),
                    "date": int(self.api.now),
                    "old_chat_member": {"user": bot, "status": "left"},
                    "new_chat_member": {"user": bot, "status": "member"},
                }
            }
        )


def make_application_builder(
    api: LocalBotApi,
    token: str = "123456:TEST",  # noqa: S107 - a fake bot's token, valid nowhere
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ApplicationBuilder whose bot talks only to this fake."""
    return Application.builder().token(token).request(api).get_updates_request(api)
