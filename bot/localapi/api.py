"""`LocalBotApi`: a `BaseRequest` that is Telegram, in-process, for one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from telegram.error import TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.localapi.calls import Params
from bot.localapi.faults import Failure, FaultPlan, RateLimit
from bot.localapi.methods import METHODS
from bot.localapi.records import (
    BOT_ID,
    BOT_USERNAME,
    ApiError,
    Call,
    ChatMessage,
    Response,
    StoredFile,
    ok,
)

if TYPE_CHECKING:
    from bot.localapi.user import FakeUser

# Where Telegram keeps each kind of file, and the extension it gives it.
_FILE_FOLDERS = {
    "photo": ("photos", ".jpg"),
    "voice": ("voice", ".oga"),
    "audio": ("music", ".mp3"),
    "video": ("videos", ".mp4"),
    "sticker": ("stickers", ".webp"),
    "document": ("documents", ""),
}


class LocalBotApi(BaseRequest):
    """The Bot API, its chats and files, fault injection and a clock tests can move."""

    def __init__(self) -> None:
        self.bot_user: dict[str, Any] = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Aigaq",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.chats: dict[int, list[ChatMessage]] = {}  # every message, both sides
        self.chat_info: dict[int, dict[str, Any]] = {}  # Chat JSON of chats Telegram knows
        self.people: dict[int, dict[str, Any]] = {}  # User JSON by user id
        self.files: dict[str, StoredFile] = {}
        self.log: list[Call] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.blocked: set[int] = set()  # private chats whose user blocked the bot
        self.left: set[int] = set()  # groups the bot has left
        self.faults = FaultPlan()
        self.rate: RateLimit | None = None
        self.clock_offset = 0.0
        self._paths: dict[str, StoredFile] = {}
        self._last_message_id: dict[int, int] = {}
        self._file_numbers = itertools.count(1)
        self._query_numbers = itertools.count(1)
        self._open_queries: set[str] = set()
        self._update_ids = itertools.count(1)
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0  # the highest update_id a getUpdates offset confirmed
        self._new_update = asyncio.Event()
        self._polled = asyncio.Event()

    # -- the clock ---------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Telegram's time (Unix seconds), moved on by `advance`."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move Telegram's clock forward (for the 48-hour delete rule, say)."""
        self.clock_offset += seconds

    def _monotonic(self) -> float:
        return time.monotonic() + self.clock_offset

    # -- what tests ask of it ----------------------------------------------------------

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
        """Make the next `times` calls of `method` ("*": any) fail, for one chat or any.

        error_code None is a timeout (`TimedOut`). Descriptions default to Telegram's words:
        429 "Too Many Requests: retry after 3", 403 "Forbidden: bot was blocked by the user",
        400 "Bad Request: chat not found", 500 "Internal Server Error", 502 "Bad Gateway".
        """
        self.faults.add(
            Failure.planned(
                method,
                chat_id=chat_id,
                times=times,
                error_code=error_code,
                description=description,
                retry_after=retry_after,
            )
        )

    def enforce_rate(self, per_second: float = 30, per_chat_per_second: float = 1) -> None:
        """Answer 429 like Telegram when sends exceed these rates over a sliding second."""
        self.rate = RateLimit(per_second, per_chat_per_second, self._monotonic)

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
        application: Application[Any, Any, Any, Any, Any, Any] | None = None,
    ) -> FakeUser:
        """A person in a private chat with the bot (chat id == user id)."""
        from bot.localapi.user import FakeUser

        user = FakeUser(self, user_id, first_name, language_code, username, application)
        self.people[user_id] = user.as_user()
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        self.chat_info[user_id] = chat
        return user

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        declared_size: int | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        """Keep a file, so getFile and its download work; `declared_size` may exceed the data."""
        number = next(self._file_numbers)
        folder, extension = _FILE_FOLDERS.get(kind, ("documents", ""))
        if kind == "document" and file_name:
            extension = PurePosixPath(file_name).suffix
        stored = StoredFile(
            file_id=f"file-{kind}-{number}",
            file_unique_id=f"unique-{number}",
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            declared_size=len(data) if declared_size is None else declared_size,
        )
        self.files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def add_message(self, chat_id: int, *, from_bot: bool, **fields: Any) -> ChatMessage:
        """Put a message in a chat under the chat's next message id."""
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = ChatMessage(
            message_id=message_id, chat_id=chat_id, from_bot=from_bot, date=self.now, **fields
        )
        self.chats.setdefault(chat_id, []).append(message)
        return message

    def find(self, chat_id: int, message_id: int) -> ChatMessage | None:
        """A message still in the chat (not deleted)."""
        for message in reversed(self.chats.get(chat_id, [])):
            if message.message_id == message_id:
                return None if message.deleted else message
        return None

    def open_callback_query(self) -> str:
        """A new callback query id, which the bot may answer once."""
        query_id = f"cq-{next(self._query_numbers)}"
        self._open_queries.add(query_id)
        return query_id

    def close_callback_query(self, query_id: str, answer: dict[str, Any]) -> bool:
        if query_id not in self._open_queries:
            return False
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = answer
        return True

    # -- JSON as Telegram writes it -----------------------------------------------------

    def chat_json(self, chat_id: int) -> dict[str, Any]:
        known = self.chat_info.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "group", "title": "Group"}

    def message_json(
        self, message: ChatMessage, sender: dict[str, Any] | None = None, *, nested: bool = True
    ) -> dict[str, Any]:
        """The Message object for a kept message (its sender: the bot, or the chat's user)."""
        if sender is None:
            sender = self.bot_user if message.from_bot else self.people.get(message.chat_id)
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(message.date),
            "chat": self.chat_json(message.chat_id),
            "from": sender or {"id": message.chat_id, "is_bot": False, "first_name": "User"},
        }
        if message.text is not None:
            data["text"] = message.text
        if message.caption is not None:
            data["caption"] = message.caption
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.protect_content:
            data["has_protected_content"] = True
        if message.edited_at is not None:
            data["edit_date"] = int(message.edited_at)
        if nested and message.reply_to is not None:
            replied = self.find(message.chat_id, message.reply_to)
            if replied is not None:
                data["reply_to_message"] = self.message_json(replied, nested=False)
        data.update(message.content)
        return data

    # -- updates for long polling --------------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (long polling); returns its update_id."""
        update = dict(update)
        update["update_id"] = self.next_update_id()
        self._updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

    @property
    def pending_update_count(self) -> int:
        return len(self._updates)

    def drop_pending_updates(self) -> None:
        if self._updates:
            self._confirmed = max(self._confirmed, self._updates[-1]["update_id"])
        self._updates.clear()

    async def wait_delivered(self, update_id: int) -> None:
        """Wait until a getUpdates offset confirms the update (PTB has queued it by then)."""
        while self._confirmed < update_id:
            self._polled.clear()
            await self._polled.wait()

    async def poll(self, offset: int, wait: float, limit: int) -> list[dict[str, Any]]:
        """getUpdates: confirm everything before `offset`, then wait up to `wait` s for news."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed = max(self._confirmed, offset - 1)
            self._polled.set()
        if not self._updates and wait > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._new_update.wait()
        return self._updates[:limit]

    # -- BaseRequest -------------------------------------------------------------------

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
        api_method = urlsplit(url).path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        uploads = (
            request_data.multipart_data if request_data and request_data.contains_files else {}
        )
        self.log.append(Call(api_method, params))
        try:
            return ok(await self._answer(api_method, Params(params, uploads)))
        except ApiError as error:
            return error.response()

    async def _answer(self, api_method: str, params: Params) -> Any:
        chat_id = params.optional_chat_id()
        failure = self.faults.take(api_method, chat_id)
        if failure is not None:
            if failure.error_code is None:
                raise TimedOut("Timed out")
            raise ApiError(failure.error_code, failure.description, failure.retry_after)
        if self.rate is not None:
            self.rate.admit(api_method, chat_id)
        handler = METHODS.get(api_method)
        if handler is None:
            raise ApiError(404, "Not Found")
        result = handler(self, params)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _download(self, url: str) -> Response:
        """Serve `<base_file_url><token>/<file_path>` from the files users sent."""
        segments = unquote(urlsplit(url).path).split("/")
        for start in range(len(segments)):
            stored = self._paths.get("/".join(segments[start:]))
            if stored is not None:
                self.log.append(Call("download", {"file_path": stored.file_path}))
                return 200, stored.data
        return ApiError(404, "Not Found").response()
