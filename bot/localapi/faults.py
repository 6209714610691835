"""Failures the tests ask for, and Telegram's flood limits."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.localapi.records import DEFAULT_DESCRIPTIONS, ApiError

# The Bot API methods Telegram counts towards its sending limits.
SENDING = ("send", "copy", "forward")


@dataclass
class Failure:
    """The next `times` calls of `method` (for one chat, or any) fail like this.

    error_code None means the request times out instead of being answered.
    """

    method: str
    chat_id: int | None
    times: int
    error_code: int | None
    description: str
    retry_after: int | None

    @classmethod
    def planned(
        cls,
        method: str,
        *,
        chat_id: int | None,
        times: int,
        error_code: int | None,
        description: str | None,
        retry_after: int | None,
    ) -> Failure:
        if error_code == 429 and retry_after is None:
            retry_after = 3
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code or 0, "Timed out")
        return cls(method, chat_id, times, error_code, description, retry_after)

    def matches(self, method: str, chat_id: int | None) -> bool:
        return self.method in (method, "*") and self.chat_id in (None, chat_id)


class FaultPlan:
    """The failures still to come, in the order they were asked for."""

    def __init__(self) -> None:
        self._failures: list[Failure] = []

    def add(self, failure: Failure) -> None:
        self._failures.append(failure)

    def take(self, method: str, chat_id: int | None) -> Failure | None:
        for failure in self._failures:
            if failure.matches(method, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def clear(self) -> None:
        self._failures.clear()


class RateLimit:
    """Telegram's flood control over a sliding second: overall and per chat."""

    def __init__(
        self, per_second: float, per_chat_per_second: float, clock: Callable[[], float]
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self._clock = clock
        self._sent: deque[float] = deque()
        self._sent_to: dict[int, deque[float]] = {}

    def admit(self, method: str, chat_id: int | None) -> None:
        """Count one send, or raise the 429 Telegram would answer instead."""
        if not method.startswith(SENDING) or method == "sendChatAction":
            return
        now = self._clock()
        _forget_before(self._sent, now - 1)
        chat_sends = self._sent_to.setdefault(chat_id or 0, deque())
        _forget_before(chat_sends, now - 1)
        if len(self._sent) >= self.per_second or len(chat_sends) >= self.per_chat_per_second:
            # The window is one second, so one second always suffices.
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._sent.append(now)
        chat_sends.append(now)


def _forget_before(times: deque[float], cutoff: float) -> None:
    while times and times[0] <= cutoff:
        times.popleft()
