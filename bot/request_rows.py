"""Reviewers' signed requests waiting for the bot (revision 0020; bot/crypto/requests.py).

A reviewer's tools insert a row here (on PostgreSQL her role may insert only `digest`, `kind`
and `document`, and read back the state); the bot verifies and applies it, the only writer of
everything else. A document that carries a message to a relative (a notice or a question,
sealed to the bot's delivery key) is cleared once the request is applied or refused, as
delivered messages are; the others stay as the signed record of who asked for what.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base

PENDING, APPLIED, REFUSED = "pending", "applied", "refused"


class ReviewerRequest(Base):
    """One signed request, as a reviewer's tools left it, and what the bot made of it."""

    __tablename__ = "reviewer_requests"
    __table_args__ = (
        Index("ix_reviewer_requests_state", "state", "id"),
        # A reviewer's role may insert any row: bounded before the bot reads one.
        CheckConstraint("length(document) <= 1048576", name="document_size"),
        CheckConstraint("length(digest) = 64", name="digest_hex"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 of the signed request's canonical JSON: one row per request, replays refused.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    document: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), server_default=PENDING)
    reason: Mapped[str | None] = mapped_column(String(200))
    # The day the bot took it (no time: a request can follow her answer within seconds).
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
