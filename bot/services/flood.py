"""A per-user message budget against floods."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.i18n import N_


class FloodGate:
    """Messages per user per minute, counted in memory, keyed by nothing but the id."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._seen: dict[int, deque[float]] = {}
        self._caps: DraftCaps | None = None

    def caps(self, pieces: int, files: int, megabytes: int) -> DraftCaps:
        """The per-draft and per-day caps, made once with the settings' numbers."""
        if self._caps is None:
            self._caps = DraftCaps(pieces, files, megabytes)
        return self._caps

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


# What she is told at a cap; nothing she already gave is lost.
PIECES_FULL = N_(
    "This testimony already holds {count} messages of the story, the most one testimony can "
    "hold. Everything you sent is kept. Please press Done to go on."
)
FILES_FULL = N_(
    "This testimony already holds {count} files, the most one testimony can hold. Everything "
    "you sent is kept. Please go on without this one."
)
BYTES_FULL = N_(
    "The files of this testimony already come to {mb} MB, the most one testimony can hold. "
    "Everything you sent is kept. Please go on without this one."
)
DAY_FULL = N_(
    "You have sent as much today as one account can in a day. Everything you sent is kept. "
    "Please continue tomorrow."
)
MB = 1024 * 1024


@dataclass
class DraftCaps:
    """Story pieces, files and bytes: per draft, and per account per day (twice a draft's),
    counted in memory, keyed by nothing but the id; a restart starts the day's counts anew."""

    pieces: int
    files: int
    megabytes: int
    _day: dict[int, tuple[date, Counter[str]]] = field(default_factory=dict)
    _draft_bytes: dict[str, int] = field(default_factory=dict)

    def _today(self, user_id: int, today: date | None) -> Counter[str]:
        today = today or datetime.now(UTC).date()
        day, counts = self._day.get(user_id, (today, Counter()))
        if day != today:
            counts = Counter()
        if len(self._day) > 10_000:
            self._day = {uid: seen for uid, seen in self._day.items() if seen[0] == today}
        self._day[user_id] = (today, counts)
        return counts

    def piece(self, user_id: int, held: int, today: date | None = None) -> tuple[str, int] | None:
        """(msgid, count) if one more story piece is over a cap, else it is counted."""
        counts = self._today(user_id, today)
        if held >= self.pieces:
            return PIECES_FULL, held
        if counts["pieces"] >= 2 * self.pieces:
            return DAY_FULL, 0
        counts["pieces"] += 1
        return None

    def file(
        self, user_id: int, draft_id: str, held: int, size: int, today: date | None = None
    ) -> tuple[str, int] | None:
        """(msgid, count or MB) if one more file of `size` bytes is over a cap, else counted."""
        counts = self._today(user_id, today)
        draft_bytes = self._draft_bytes.get(draft_id, 0)
        if held >= self.files:
            return FILES_FULL, held
        if draft_bytes + size > self.megabytes * MB:
            return BYTES_FULL, self.megabytes
        if counts["files"] >= 2 * self.files or counts["bytes"] + size > 2 * self.megabytes * MB:
            return DAY_FULL, 0
        counts["files"] += 1
        counts["bytes"] += size
        if len(self._draft_bytes) > 10_000:
            self._draft_bytes.clear()  # a flood of drafts: their byte counts start anew
        self._draft_bytes[draft_id] = draft_bytes + size
        return None

    def refund(self, user_id: int, draft_id: str, size: int, today: date | None = None) -> None:
        """A counted file that was not kept after all (refused, not downloaded): it does not
        count against her caps."""
        counts = self._today(user_id, today)
        counts["files"] = max(0, counts["files"] - 1)
        counts["bytes"] = max(0, counts["bytes"] - size)
        if draft_id in self._draft_bytes:
            self._draft_bytes[draft_id] = max(0, self._draft_bytes[draft_id] - size)
