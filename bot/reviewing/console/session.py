"""Who may use the console and for how long: a session per browser, each with its own form
token; the one unlocked key, dropped by a timer after the idle time; unlock attempts slowed.

The key is the reviewer's, one per console process; a session (a cookie) only says whether
this browser unlocked it. Locking, from any session or by the timer, drops the key for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.reviewing.cases import Reviewer

Clock = Callable[[], float]


def awake_or_asleep() -> float:
    """Seconds that go on while the laptop sleeps (`time.monotonic` stops): a reviewer who
    closes the lid with the console unlocked finds it locked when she opens it."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(boottime) if boottime is not None else time.time()


MOST_SESSIONS = 64  # locked browsers beyond this are forgotten, oldest first
LONGEST_NAP = 1.0  # how long the idle timer sleeps at most before it looks again


@dataclass
class Session:
    """One browser's: the token its forms carry, and whether it unlocked the key."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    unlocked: bool = False


class UnlockAttempts:
    """A few wrong passphrases are free; then each attempt waits, twice as long each time."""

    FREE = 5
    FIRST_WAIT = 10.0
    LONGEST_WAIT = 900.0

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.failures = 0
        self.last_failure = 0.0

    def wait(self) -> float:
        """Seconds before another attempt is heard; 0 if now."""
        if self.failures < self.FREE:
            return 0.0
        delay = min(self.FIRST_WAIT * 2 ** (self.failures - self.FREE), self.LONGEST_WAIT)
        return max(0.0, self.last_failure + delay - self.clock())

    def failed(self) -> None:
        self.failures += 1
        self.last_failure = self.clock()

    def succeeded(self) -> None:
        self.failures = 0


class ConsoleState:
    """The console's memory: sessions by cookie, the unlocked reviewer, the idle timer."""

    def __init__(self, key_path: Path, idle_seconds: float, clock: Clock = awake_or_asleep) -> None:
        self.key_path = key_path
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.reviewer: Reviewer | None = None
        self.last_seen = 0.0
        self.sessions: dict[str, Session] = {}
        self.attempts = UnlockAttempts(clock)
        self._timer: asyncio.Task[None] | None = None

    def session(self, cookie: str | None) -> Session | None:
        return self.sessions.get(cookie) if cookie else None

    def new_session(self) -> tuple[str, Session]:
        """A session for a browser that has none yet; the oldest locked ones make room."""
        locked = [sid for sid, s in self.sessions.items() if not s.unlocked]
        for sid in locked[: max(0, len(self.sessions) - MOST_SESSIONS + 1)]:
            del self.sessions[sid]
        sid, session = secrets.token_urlsafe(32), Session()
        self.sessions[sid] = session
        return sid, session

    def unlock(self, cookie: str, reviewer: Reviewer) -> str:
        """The key is open for this session, under a new cookie (a cookie set before by anyone
        else does not become an unlocked one)."""
        session = self.sessions.pop(cookie)
        session.unlocked = True
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = session
        self.reviewer = reviewer
        self.last_seen = self.clock()
        self.attempts.succeeded()
        self.start_timer()
        return sid

    def reviewer_for(self, cookie: str | None) -> Reviewer | None:
        """The unlocked reviewer, if this session unlocked it and it has not gone idle."""
        if self.reviewer is not None and self.idle():
            self.lock()
        session = self.session(cookie)
        if self.reviewer is None or session is None or not session.unlocked:
            return None
        self.last_seen = self.clock()
        return self.reviewer

    def idle(self) -> bool:
        return self.clock() - self.last_seen > self.idle_seconds

    def lock(self) -> None:
        """Drop the key from memory; every session must unlock again."""
        self.reviewer = None
        for session in self.sessions.values():
            session.unlocked = False

    def start_timer(self) -> None:
        """Run the idle timer in this event loop, unless it runs already."""
        loop = asyncio.get_running_loop()
        if self._timer is not None and not self._timer.done() and self._timer.get_loop() is loop:
            return
        self._timer = loop.create_task(self._lock_when_idle())

    async def _lock_when_idle(self) -> None:
        while True:
            if self.reviewer is not None and self.idle():
                self.lock()
            left = self.last_seen + self.idle_seconds - self.clock()
            nap = left if self.reviewer is not None else self.idle_seconds
            await asyncio.sleep(min(max(nap, 0.005), LONGEST_NAP))

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """Starlette's lifespan: the timer runs from start-up; at shutdown the key goes."""
        self.start_timer()
        try:
            yield
        finally:
            if self._timer is not None:
                self._timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._timer
            self.lock()
