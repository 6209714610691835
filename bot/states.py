"""The values a case's grade and consent, a broadcast, a notice and a follow-up may hold.

Each column stores the value as a plain string with a CHECK that refuses any other
(bot/models.py `_enum`); a StrEnum member equals its value, so `state == "sent"` still holds.
"""

from __future__ import annotations

import enum


class Grade(enum.StrEnum):
    """The verification ladder a reviewer grades a case on."""

    REPORTED = "reported"
    PARTIALLY_VERIFIED = "partially_verified"
    CORROBORATED = "corroborated"
    DOCUMENTED = "documented"


class Sharing(enum.StrEnum):
    """How the relative lets her testimony be used (bot/case.py `Sharing` lists the same)."""

    TEAM = "team"
    ORGANISATIONS = "organisations"
    PUBLISH_ANONYMOUS = "publish_anonymous"
    PUBLISH_NAMED = "publish_named"


class BroadcastStatus(enum.StrEnum):
    # A large broadcast written in Telegram waits here for a second admin (16 characters:
    # the column's length).
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class NoticeState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class FollowUpState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"
