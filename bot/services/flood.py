"""A per-user message budget against floods."""

from __future__ import annotations

import time
from collections import deque


class FloodGate:
    """Messages per user per minute, counted in memory, keyed by nothing but the id."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._seen: dict[int, deque[float]] = {}

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        recent = self._seen.setdefault(user_id, deque())
        while recent and now - recent[0] > 60:
            recent.popleft()
        if len(recent) >= self._per_minute:
            return False
        recent.append(now)
        if len(self._seen) > 10_000:
            self._seen = {uid: d for uid, d in self._seen.items() if d and now - d[-1] <= 60}
        return True
