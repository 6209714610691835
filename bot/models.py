"""The schema, as typed SQLAlchemy models. It changes only through an Alembic revision."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.states import BroadcastStatus, FollowUpState, Grade, NoticeState, Sharing

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def utcday(moment: datetime | None = None) -> datetime:
    """Midnight UTC of the moment's day (today by default): how times on her account, cases,
    files and messages to her are stored (docs/data.md); the exact submit time is sealed."""
    moment = moment or utcnow()
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum], name: str, length: int = 24) -> Enum:
    # Stored as plain strings with a CHECK, so adding a value is a small migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(enum.StrEnum):
    RELATIVE = "relative"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class CaseStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


class Account(Base):
    """A Telegram user, known only by a keyed hash of their user id."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.RELATIVE)
    locale: Mapped[str | None] = mapped_column(String(16))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Server-key encrypted chat id, kept only while she is subscribed or agreed to follow-ups.
    chat_ref: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcday, onupdate=utcday
    )


class Recipient(Base):
    """A reviewer's public key: a look-up copy of the signed roster's (bot/services/team.py),
    so that wrapped keys can name their holder by row. Active = in the roster loaded last."""

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    suite: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    label: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Case(Base):
    """A submitted testimony. Its content is one sealed object; only metadata is plain."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[CaseStatus] = mapped_column(
        _enum(CaseStatus, "case_status"), default=CaseStatus.RECEIVED, index=True
    )
    locale: Mapped[str] = mapped_column(String(16))
    schema_version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Her chat id and language, sealed to the reviewers (kind `contact`) if she agreed to be
    # contacted; never in the payload, never shown or exported (bot/services/contacts.py).
    contact: Mapped[bytes | None] = mapped_column(LargeBinary)
    # SHA-256 of the receipt she was given at Submit (bot/services/receipts.py); the receipt
    # itself is never stored. Emptied when the case is withdrawn.
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_sig: Mapped[bytes | None] = mapped_column(LargeBinary)  # bot/services/receipts.py
    detainee_count: Mapped[int] = mapped_column(Integer, default=0)
    attachment_count: Mapped[int] = mapped_column(Integer, default=0)
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # Typed str (a Sharing, a Grade is one) while callers still assign plain values to them.
    consent_sharing: Mapped[Sharing] = mapped_column(
        _enum(Sharing, "sharing"), default=Sharing.TEAM
    )
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    # A disappearance less than three months before the report (the UN urgent procedure).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    grade: Mapped[Grade] = mapped_column(
        _enum(Grade, "grade"), default=Grade.REPORTED, server_default=Grade.REPORTED.value
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcday, onupdate=utcday
    )


class Attachment(Base):
    """One piece of evidence, sealed as it arrives; its chunks live in attachment_chunks."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    # Empty while it belongs to a draft (which names it: no account does), then its case's.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    followup_id: Mapped[int | None] = mapped_column(  # set for an answer to a follow-up
        ForeignKey("followups.id", ondelete="SET NULL"), index=True
    )
    header: Mapped[bytes] = mapped_column(LargeBinary)
    # Its SHA-256, size, MIME type and name, sealed (kind `file_record`, bot/file_record.py);
    # empty for a file that arrived before revision 0012 (its case payload lists hash and size).
    record: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday)


class AttachmentChunk(Base):
    """One sealed 64 KiB chunk of an attachment, so no file sits whole in memory."""

    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SealedKey(Base):
    """One sealed object's data key, wrapped for one holder: a reviewer's `recipients` row, or
    the bot's delivery key (which is no row of `recipients`). Every kind of sealed object keeps
    its keys here and nowhere else (bot/sealing.py), so rewrap and shredding reach them all."""

    __tablename__ = "sealed_keys"
    __table_args__ = (
        CheckConstraint("(recipient_id IS NULL) <> (delivery_key_id IS NULL)", name="one_holder"),
        UniqueConstraint("kind", "object_uid", "recipient_id", name="uq_sealed_keys_reviewer"),
        UniqueConstraint("kind", "object_uid", "delivery_key_id", name="uq_sealed_keys_delivery"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the object is (case, attachment, note, question) and its uid: the same two names
    # the ciphertext's header and the wrapping's HPKE info bind.
    kind: Mapped[str] = mapped_column(String(16))
    object_uid: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE"), index=True
    )
    # The bot's delivery key id, for a copy the bot opens to deliver and then drops.
    delivery_key_id: Mapped[str | None] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


class Draft(Base):
    """Conversation state and answers before submit, encrypted with the server key."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("kind", "name", "ref", name="uq_drafts_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # user | chat | bot | conversation
    kind: Mapped[str] = mapped_column(String(16))
    # The conversation handler's name, or "" for user/chat/bot data.
    name: Mapped[str] = mapped_column(String(64), default="")
    # A keyed hash of the Telegram key, so a row can be found without storing the id.
    ref: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # When she was reminded that it expires soon (cleared when she writes again).
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Broadcast(Base):
    """A protest update an admin sends to subscribers, in each one's language."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    status: Mapped[BroadcastStatus] = mapped_column(
        _enum(BroadcastStatus, "broadcast_status", 16), default=BroadcastStatus.SENDING, index=True
    )
    # JSON {"kk": "...", "ru": "...", "en": "..."} and the fallback order.
    texts: Mapped[str] = mapped_column(Text, default="{}")
    fallback: Mapped[str] = mapped_column(String(64), default="kk,ru,en")
    # A protest photo the admin attached: Telegram's file id (public material, not testimony).
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    # Where the admin's progress message is: her chat (server-key encrypted) and its id.
    progress_chat_ref: Mapped[bytes | None] = mapped_column(LargeBinary)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the delivery rows of a finished broadcast are reduced to these counts.
    sent_count: Mapped[int | None] = mapped_column(Integer)
    failed_count: Mapped[int | None] = mapped_column(Integer)
    blocked_count: Mapped[int | None] = mapped_column(Integer)


class Delivery(Base):
    """One message the bot starts on its own (a broadcast, a notice, a question, a reminder,
    a staff alert) to one recipient: the outbox row a sender claims and marks."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "account_id", name="uq_deliveries_target"),
        UniqueConstraint("kind", "subject_id", "account_id", name="uq_deliveries_subject"),
        Index("ix_deliveries_due", "broadcast_id", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # broadcast | notice | question | reminder | alert (bot/services/outbox.py)
    kind: Mapped[str] = mapped_column(String(16), default="broadcast", server_default="broadcast")
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE")
    )
    # What the message is about: a notice's or a follow-up's row, a new case for an alert.
    subject_id: Mapped[int | None] = mapped_column(Integer)
    # The recipient: an account, or a blob naming the chat (for one without an account link).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Server-encrypted JSON; or, where `uid` is set (a question or notice to a relative, its
    # case in `case_id`), sealed to the bot's delivery key (kind `delivery`): her chat id.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    uid: Mapped[str | None] = mapped_column(String(32), unique=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    locale: Mapped[str] = mapped_column(String(16))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The sender process that holds the row, and since when (a lease; a dead sender's
    # rows are taken over once it runs out).
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class AuditEntry(Base):
    """Append-only record of privileged actions; each row hashes the one before it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # An account pseudonym, "cli" or "system"; never a Telegram id.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(64))
    # JSON of counts and codes; never testimony.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CaseNote(Base):
    """A reviewer's decision on a case, with a note sealed like testimony."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    # The reviewer's key id (who decided), never a name.
    reviewer: Mapped[str] = mapped_column(String(32))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    grade: Mapped[Grade] = mapped_column(_enum(Grade, "grade"))
    # The note, sealed to the team's reviewer keys; its wrapped keys are in sealed_keys.
    sealed_note: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notice(Base):
    """A status change the bot is to tell a relative about (code and status only)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    state: Mapped[NoticeState] = mapped_column(
        _enum(NoticeState, "notice_state", 16), default=NoticeState.PENDING, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FollowUp(Base):
    """A reviewer's question to the relative, and whether she answered it."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    asked_by: Mapped[str] = mapped_column(String(32))
    # Its person (1-based; None: asked before questions named one), the UN elements asked for
    # and confirmed by a reviewer as answered, the sealed question, its token's SHA-256.
    person: Mapped[int | None] = mapped_column(Integer)
    elements: Mapped[str] = mapped_column(String(128), default="", server_default="")
    confirmed: Mapped[str] = mapped_column(String(128), default="", server_default="")
    sealed_question: Mapped[bytes] = mapped_column(LargeBinary)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[FollowUpState] = mapped_column(
        _enum(FollowUpState, "followup_state", 16), default=FollowUpState.QUEUED, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Setting(Base):
    """Small public values the bot publishes for reviewers (its delivery key certificate)."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# Tables kept in modules of their own: the sealed answers, what 0014 kept of the account
# links, the signed rosters the bot loaded, reviewers' signed requests.
from bot import draft_pieces, earlier_links, request_rows, roster_copy  # noqa: E402, F401
