"""The signed team rosters the bot has loaded (revision 0017), for reviewer tools to verify.

The bot seals only to the reviewers of a roster signed with the team's roster key
(bot/crypto/roster.py, bot/services/team.py) and keeps each version it loads here, as signed;
reviewer tools read the newest and verify it against the roster key they pinned
(bot/reviewing/roster_pin.py). A database writer can withhold a roster, never forge one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcday


class RosterCopy(Base):
    """A signed team roster as the bot loaded it."""

    __tablename__ = "rosters"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday)
