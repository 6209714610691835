"""What an outbox row says: its message, opened with the server key or the bot's delivery
key, and the `Item` the sender sends (bot/services/outbox.py claims the rows)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import CryptoError, ServerKey
from bot.models import Broadcast, Delivery, FollowUp, Notice
from bot.services.broadcasts import text_for
from bot.services.delivery import BROADCAST, NOTICE, QUESTION, Item
from bot.services.delivery_keys import DeliveryKeys


class Messages:
    """Seals and opens a row's message; turns a claimed row into an Item, or says why not."""

    def __init__(self, server_key: ServerKey, delivery_keys: DeliveryKeys | None) -> None:
        self._key = server_key
        self._delivery_keys = delivery_keys

    def seal(self, message: Mapping[str, Any]) -> bytes:
        """Server-encrypted JSON (reminders, alerts, and messages of the bot's own making)."""
        return self._key.encrypt(
            json.dumps(message, ensure_ascii=False).encode(), context="delivery"
        )

    def open(self, sealed: bytes) -> dict[str, Any]:
        opened: dict[str, Any] = json.loads(self._key.decrypt(sealed, context="delivery"))
        return opened

    async def _sealed(self, session: AsyncSession, row: Delivery) -> dict[str, Any] | None:
        """A delivery sealed to the bot's delivery key, opened (None if no key it holds can)."""
        if self._delivery_keys is None or row.uid is None or row.sealed is None:
            return None
        try:
            opened = json.loads(await self._delivery_keys.open(session, row.uid, row.sealed))
        except (CryptoError, ValueError):
            return None
        return opened if isinstance(opened, dict) else None

    async def item(
        self, session: AsyncSession, row: Delivery, chat_ref: bytes | None
    ) -> Item | str:
        """The row as an Item to send, or the reason it can never be sent."""
        if row.uid is not None:
            sealed = await self._sealed(session, row)
            needs = {NOTICE: ("code", "status"), QUESTION: ("code", "text", "token")}
            if sealed is None or not all(k in sealed for k in needs.get(row.kind, ("code",))):
                return "undeliverable"  # its delivery key is gone, or the blob was altered
            message = sealed
        else:
            message = self.open(row.sealed) if row.sealed else {}
        chat = message.get("chat")
        if chat is None and chat_ref is not None:
            chat = int(self._key.decrypt(chat_ref, context="chat"))
        if chat is None:
            return "unsubscribed"
        source = {NOTICE: Notice, QUESTION: FollowUp}.get(row.kind)
        if source is not None and await session.get(source, row.subject_id) is None:
            return "withdrawn"  # shredded with its case: the message must not go out
        text, photo = "", None
        if row.kind == BROADCAST and row.broadcast_id is not None:
            broadcast = await session.get(Broadcast, row.broadcast_id)
            if broadcast is None:
                return "no broadcast"
            chosen = text_for(
                row.locale, json.loads(broadcast.texts), broadcast.fallback.split(",")
            )
            if chosen is None:
                return "no text"
            text, photo = chosen[1], broadcast.photo_file_id
        return Item(
            delivery_id=row.id,
            kind=row.kind,
            broadcast_id=row.broadcast_id,
            account_id=row.account_id,
            subject_id=row.subject_id,
            chat_id=int(chat),
            locale=str(message.get("locale") or row.locale),
            attempts=row.attempts,
            text=text,
            photo_file_id=photo,
            message=message,
            uid=row.uid,
        )
