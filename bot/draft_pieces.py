"""The table of sealed answer pieces: one small sealed object per answer, as it arrives.

A piece is found only through the references her draft (or, after Submit, her case's signed
manifest) keeps: no account, no Telegram id, no path, the day it was sealed only. Until Submit
`case_id` is empty; Submit sets it, and the pieces then go with the case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcday

KIND = "answer"


class DraftPiece(Base):
    """One answer, sealed to the reviewers (kind "answer"); its wrapped keys in sealed_keys."""

    __tablename__ = "draft_pieces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday)
