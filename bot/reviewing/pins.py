"""What a reviewer's machine pins and keeps beside her key, and her tools made from it.

One place for the console, the command line and the trial page: the bot's signing keys she
pinned (or the roster's), the roster key, her team key list, and the files beside her key
(the roster pin, her memory of the audit log and the cases, her duplicate index).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reviewing.cases import Reviewer
from bot.reviewing.duplicate_index import beside as index_beside
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.memory import beside as memory_beside
from bot.reviewing.roster_pin import RosterPin
from bot.settings import Settings


@dataclass(frozen=True)
class Pins:
    inbox_fingerprint: str | None = None  # AIGAQ_INBOX_FINGERPRINT
    intake_fingerprint: str | None = None  # AIGAQ_INTAKE_FINGERPRINT
    roster_key: str | None = None  # AIGAQ_ROSTER_KEY; unset, pinned at first use
    team_keys: Path | None = None  # AIGAQ_RECIPIENTS, while the database holds no roster
    duplicate_index: Path | None = None  # AIGAQ_DUPLICATE_INDEX; unset, beside her key
    requests_file: Path | None = None  # AIGAQ_REQUESTS_FILE; unset, the request table

    @classmethod
    def of(cls, settings: Settings) -> Pins:
        return cls(
            inbox_fingerprint=settings.inbox_fingerprint,
            intake_fingerprint=settings.intake_fingerprint,
            roster_key=settings.roster_key,
            team_keys=settings.recipients,
            duplicate_index=settings.duplicate_index,
            requests_file=settings.requests_file,
        )

    def tools(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key: ReviewerKey,
        key_file: Path,
    ) -> Reviewer:
        """Her tools with her key unlocked, the files beside `key_file`."""
        return Reviewer(
            sessionmaker,
            key,
            inbox_fingerprint=self.inbox_fingerprint,
            intake_fingerprint=self.intake_fingerprint,
            team_keys=self.team_keys,
            roster_pin=RosterPin(key_file, self.roster_key),
            memory=memory_beside(key_file),
            duplicate_index=self.duplicate_index or index_beside(key_file),
            requests_file=self.requests_file,
        )
