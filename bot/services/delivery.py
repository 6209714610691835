"""The outbox's vocabulary: what a message to send is, what can go wrong sending it, and
who learns how it ended. The outbox itself is bot/services/outbox.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

BROADCAST, NOTICE, QUESTION, REMINDER, ALERT, RECEIPT = (
    "broadcast",
    "notice",
    "question",
    "reminder",
    "alert",
    # A receipt code for a case filed before receipts, sent once (bot/services/earlier.py).
    "receipt",
)


class RateLimited(Exception):
    """Telegram said 429: wait `retry_after` seconds, then send the same message again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class Blocked(Exception):
    """403: she blocked the bot or deleted her account. Unsubscribe, never retry."""


class ChatGone(Exception):
    """400 chat not found (or another refusal that retrying won't change)."""


class Transient(Exception):
    """5xx, a timeout, a network error: worth a few more tries, later."""


@dataclass(frozen=True)
class Item:
    """One claimed delivery, ready to send: who to, in which language, and what."""

    delivery_id: int
    kind: str
    broadcast_id: int | None
    account_id: int | None
    subject_id: int | None
    chat_id: int
    locale: str
    attempts: int
    # A broadcast's chosen text and photo; the other kinds' message is in `message`.
    text: str = ""
    photo_file_id: str | None = None
    message: Mapping[str, Any] = field(default_factory=dict)
    # Set for a message sealed to the bot's delivery key (its blob goes, the WAL is wiped).
    uid: str | None = None


class Transport(Protocol):
    async def send(self, item: Item) -> int:
        """Send one message; return its id, or raise one of the errors above."""


@dataclass(frozen=True)
class Queued:
    """A message to queue: an account, or `chat` in the message for one without an account."""

    account_id: int | None
    locale: str
    message: Mapping[str, Any]
    subject_id: int | None = None


class Settle(Protocol):
    async def __call__(self, session: AsyncSession, subject_id: int, /, *, sent: bool) -> None:
        """Tell a kind's source row (a notice, a question) how its message ended, in the
        transaction that closes the delivery: never one without the other."""
