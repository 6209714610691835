"""`FakeUser`: a person in a private chat with the bot, sending real Telegram updates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application

from bot.localapi.records import ChatMessage

if TYPE_CHECKING:
    from bot.localapi.api import LocalBotApi

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
POLLING_PATIENCE = 5.0  # seconds for a polling Application to fetch an update


@dataclass
class FakeUser:
    """She sends messages and presses buttons; each action returns once it was handled.

    Updates go straight to `application.process_update`, or with `via_polling=True`
    through getUpdates to an Application that is polling.
    """

    api: LocalBotApi
    user_id: int
    first_name: str = "Test"
    language_code: str | None = "kk"
    username: str | None = None
    application: AnyApplication | None = None

    @property
    def chat_id(self) -> int:
        return self.user_id

    def as_user(self) -> dict[str, Any]:
        """Her User JSON."""
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
        """The bot's latest message she can still see."""
        return self.messages[-1]

    @property
    def last_text(self) -> str:
        return self.last.shown_text

    def buttons(self, message: ChatMessage | None = None) -> list[tuple[str, str]]:
        """(text, callback_data) of a message's inline keyboard (default: the last one)."""
        return (message or self.last).buttons()

    # -- what she does ------------------------------------------------------------------

    async def _deliver(self, update: dict[str, Any], *, via_polling: bool = False) -> None:
        if via_polling:
            update_id = self.api.push_update(update)
            async with asyncio.timeout(POLLING_PATIENCE):
                await self.api.wait_delivered(update_id)
            if self.application is not None:
                await self.application.update_queue.join()  # done once it was processed
            return
        if self.application is None:
            raise RuntimeError("FakeUser.application is not set")
        update = {"update_id": self.api.next_update_id(), **update}
        await self.application.process_update(Update.de_json(update, self.application.bot))

    async def _send(
        self,
        *,
        text: str | None = None,
        caption: str | None = None,
        media: str | None = None,
        file_id: str | None = None,
        content: dict[str, Any] | None = None,
        via_polling: bool = False,
    ) -> ChatMessage:
        message = self.api.add_message(
            self.chat_id,
            from_bot=False,
            text=text,
            caption=caption,
            media=media,
            file_id=file_id,
            content=content or {},
        )
        data = self.api.message_json(message, sender=self.as_user())
        await self._deliver({"message": data}, via_polling=via_polling)
        return message

    async def send_text(self, text: str, *, via_polling: bool = False) -> ChatMessage:
        return await self._send(text=text, via_polling=via_polling)

    async def send_command(
        self, command: str, args: str = "", *, via_polling: bool = False
    ) -> ChatMessage:
        text = f"/{command}" + (f" {args}" if args else "")
        entity = {"type": "bot_command", "offset": 0, "length": len(command) + 1}
        return await self._send(text=text, content={"entities": [entity]}, via_polling=via_polling)

    async def _send_file(
        self,
        kind: str,
        data: bytes,
        about: dict[str, Any],
        *,
        declared_size: int | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        stored = self.api.register_file(
            data, kind=kind, declared_size=declared_size, file_name=about.get("file_name")
        )
        media = stored.as_json() | about
        return await self._send(
            caption=caption, media=kind, file_id=stored.file_id, content={kind: media}
        )

    async def send_voice(
        self,
        data: bytes,
        duration: int = 3,
        mime: str = "audio/ogg",
        declared_size: int | None = None,
    ) -> ChatMessage:
        about = {"duration": duration, "mime_type": mime}
        return await self._send_file("voice", data, about, declared_size=declared_size)

    async def send_audio(
        self,
        data: bytes,
        duration: int = 30,
        mime: str = "audio/mpeg",
        file_name: str = "audio.mp3",
        declared_size: int | None = None,
    ) -> ChatMessage:
        about = {"duration": duration, "mime_type": mime, "file_name": file_name}
        return await self._send_file("audio", data, about, declared_size=declared_size)

    async def send_photo(
        self,
        data: bytes,
        width: int = 1280,
        height: int = 960,
        caption: str | None = None,
        declared_size: int | None = None,
    ) -> ChatMessage:
        """A photo as Telegram delivers it: a small size, then the full one."""
        small = self.api.register_file(data[:64], kind="photo")
        full = self.api.register_file(data, kind="photo", declared_size=declared_size)
        sizes = [
            small.as_json() | {"width": 90, "height": max(1, 90 * height // max(width, 1))},
            full.as_json() | {"width": width, "height": height},
        ]
        return await self._send(
            caption=caption, media="photo", file_id=full.file_id, content={"photo": sizes}
        )

    async def send_document(
        self,
        data: bytes,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        declared_size: int | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        about = {"file_name": file_name, "mime_type": mime_type}
        return await self._send_file(
            "document", data, about, declared_size=declared_size, caption=caption
        )

    async def send_video(
        self,
        data: bytes,
        duration: int = 5,
        width: int = 640,
        height: int = 480,
        declared_size: int | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        about = {"width": width, "height": height, "duration": duration, "mime_type": "video/mp4"}
        return await self._send_file(
            "video", data, about, declared_size=declared_size, caption=caption
        )

    async def send_sticker(self) -> ChatMessage:
        about = {"type": "regular", "width": 512, "height": 512, "is_animated": False}
        return await self._send_file("sticker", b"RIFF-sticker", about | {"is_video": False})

    async def send_location(self, latitude: float, longitude: float) -> ChatMessage:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send(media="location", content={"location": location})

    async def send_contact(
        self, phone_number: str = "+77000000000", first_name: str = "Someone"
    ) -> ChatMessage:
        contact = {"phone_number": phone_number, "first_name": first_name}
        return await self._send(media="contact", content={"contact": contact})

    async def send_poll(
        self, question: str = "?", options: tuple[str, ...] = ("a", "b")
    ) -> ChatMessage:
        poll = {
            "id": f"poll-{self.chat_id}-{len(self.all_messages)}",
            "question": question,
            "options": [{"text": option, "voter_count": 0} for option in options],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": False,
            "type": "regular",
            "allows_multiple_answers": False,
        }
        return await self._send(media="poll", content={"poll": poll})

    async def press(
        self, data: str, message_id: int | None = None, *, via_polling: bool = False
    ) -> dict[str, Any] | None:
        """Press an inline button; returns the bot's answerCallbackQuery parameters, if any.

        By default the button is on the newest bot message showing that callback data. With
        an explicit message_id the data need not be on that message (a forged press), and
        the message need not exist any more (Telegram then sends an inaccessible message).
        """
        if message_id is None:
            target = next((m for m in reversed(self.messages) if data in _datas(m)), None)
            if target is None:
                raise AssertionError(f"no visible button with callback data {data!r}")
        else:
            target = self.api.find(self.chat_id, message_id)
        if target is not None:
            message = self.api.message_json(target)
        else:
            message = {
                "message_id": message_id,
                "date": 0,
                "chat": self.api.chat_json(self.chat_id),
            }
        query_id = self.api.open_callback_query()
        query = {
            "id": query_id,
            "from": self.as_user(),
            "chat_instance": f"ci-{self.chat_id}",
            "data": data,
            "message": message,
        }
        await self._deliver({"callback_query": query}, via_polling=via_polling)
        return self.api.callback_answers.get(query_id)

    async def block(self) -> None:
        """Block the bot: sends to her fail with 403, and the bot hears my_chat_member."""
        self.api.blocked.add(self.chat_id)
        await self._member_change(self.api.chat_json(self.chat_id), "member", "kicked")

    async def add_to_group(
        self, application: AnyApplication, chat_id: int, title: str = "Group"
    ) -> None:
        """Add the bot to a group, as this user: Telegram's my_chat_member update."""
        self.application = application
        chat = {"id": chat_id, "type": "group", "title": title}
        self.api.chat_info[chat_id] = chat
        self.api.left.discard(chat_id)
        await self._member_change(chat, "left", "member")

    async def _member_change(self, chat: dict[str, Any], old: str, new: str) -> None:
        bot = self.api.bot_user
        change = {
            "chat": chat,
            "from": self.as_user(),
            "date": int(self.api.now),
            "old_chat_member": {"user": bot, "status": old},
            "new_chat_member": {"user": bot, "status": new}
            | ({"until_date": 0} if new == "kicked" else {}),
        }
        await self._deliver({"my_chat_member": change})


def _datas(message: ChatMessage) -> list[str]:
    return [data for _text, data in message.buttons()]
