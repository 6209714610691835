"""Keep only what must be kept: drafts expire, rejected cases may be shredded, outbox rows
of old broadcasts shrink to counts. Every purge is audited with its counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db
from bot.crypto import CryptoError, ServerKey
from bot.draft_pieces import DraftPiece
from bot.models import (
    Attachment,
    Broadcast,
    Case,
    CaseNote,
    CaseStatus,
    Delivery,
    DeliveryState,
    Draft,
    FollowUp,
    Notice,
    SealedKey,
    utcday,
    utcnow,
)
from bot.sealing import of_case, orphaned
from bot.services import audit
from bot.services.broadcasts import CANCELLED, DONE
from bot.services.pieces import sweep_unnamed
from bot.states import Grade, Sharing

DELIVERY_KEEP = timedelta(days=30)


@dataclass(frozen=True)
class Purged:
    drafts: int = 0
    draft_files: int = 0
    rejected_cases: int = 0
    broadcasts_compacted: int = 0
    delivery_rows: int = 0
    answer_tokens: int = 0
    answer_pieces: int = 0


@dataclass(frozen=True)
class Reminder:
    user_id: int
    locale: str | None


async def shred_case(session: AsyncSession, case: Case, status: CaseStatus) -> int:
    """Delete a case's wrapped keys, ciphertext, files (her follow-up answers included, with
    their sealed records), her sealed contact, the reviewers' sealed notes, follow-up questions
    (their answer tokens with them) and pending notices with their deliveries, and reset what
    the row said about it (counts, language, consent, urgency, grade, duplicate links); keep
    the code, the date and the status (what she is told remains); the receipt's hash goes
    with the case (bot/services/withdrawal.py)."""
    files = list(await session.scalars(select(Attachment.id).where(Attachment.case_id == case.id)))
    # Every kind of sealed object of the case loses its keys (bot.sealing.KINDS).
    await session.execute(delete(SealedKey).where(of_case(case.id)))
    if files:
        await session.execute(delete(Attachment).where(Attachment.id.in_(files)))
    await session.execute(delete(CaseNote).where(CaseNote.case_id == case.id))
    # Her answers, sealed one by one (their keys went with the case's, of_case).
    await session.execute(delete(DraftPiece).where(DraftPiece.case_id == case.id))
    # Messages about the case still waiting in the outbox go first (a question's text, a
    # notice, the staff alert): they name their source only by its id.
    questions = select(FollowUp.id).where(FollowUp.case_id == case.id)
    notices = select(Notice.id).where(Notice.case_id == case.id)
    await session.execute(
        delete(Delivery).where(
            or_(
                and_(Delivery.kind == "question", Delivery.subject_id.in_(questions)),
                and_(Delivery.kind == "notice", Delivery.subject_id.in_(notices)),
                and_(Delivery.kind == "alert", Delivery.subject_id == case.id),
                Delivery.case_id == case.id,
            )
        )
    )
    await session.execute(delete(FollowUp).where(FollowUp.case_id == case.id))
    await session.execute(delete(Notice).where(Notice.case_id == case.id))
    await session.execute(
        update(Case).where(Case.duplicate_of == case.id).values(duplicate_of=None)
    )
    case.payload = None
    case.contact = None  # her chat id, sealed: its keys went with the case's (of_case)
    case.status = status
    case.attachment_count = case.detainee_count = 0
    case.locale = ""
    case.consent_contact, case.consent_sharing = False, Sharing.TEAM
    case.urgent, case.grade, case.duplicate_of = False, Grade.REPORTED, None
    return len(files)


class Retention:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        *,
        draft_ttl: timedelta,
        rejected_after: timedelta | None,
        answer_token_ttl: timedelta = timedelta(days=30),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._draft_ttl = draft_ttl
        self._rejected_after = rejected_after
        self._answer_token_ttl = answer_token_ttl

    async def due_reminders(self) -> list[Reminder]:
        """Drafts that expire within a day and were not yet reminded (marked as reminded)."""
        now = utcnow()
        found = []
        async with self._sessionmaker() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(Draft).where(
                        Draft.kind == "user",
                        Draft.reminded_at.is_(None),
                        Draft.expires_at > now,
                        Draft.expires_at <= now + timedelta(days=1),
                    )
                )
            )
            for row in rows:
                try:
                    item = json.loads(self._key.decrypt(row.data, context="draft:user:"))
                except (CryptoError, ValueError):
                    continue
                value = item.get("value") or {}
                if "draft" not in value:
                    continue
                row.reminded_at = now
                found.append(Reminder(user_id=int(item["key"]), locale=value.get("locale")))
        return found

    async def purge(self) -> Purged:
        """One daily pass; the audit log gets one row with the counts."""
        now = utcnow()
        async with self._sessionmaker() as session, session.begin():
            drafts = await session.execute(delete(Draft).where(Draft.expires_at <= now))
            # A file's and a case's row keep only the day (bot.models.utcday): each is kept
            # until that whole day lies the full time back, never a moment less.
            files = await session.execute(
                delete(Attachment).where(
                    Attachment.case_id.is_(None),
                    Attachment.created_at < utcday(now - self._draft_ttl),
                )
            )
            # Sealed answers no live draft names any more (expired, cancelled, replaced).
            pieces = await sweep_unnamed(session, self._key, now)
            # Keys of objects deleted with them (or with an account) go too.
            await session.execute(delete(SealedKey).where(orphaned()))
            rejected = 0
            if self._rejected_after is not None:
                old = await session.scalars(
                    select(Case).where(
                        Case.status == CaseStatus.REJECTED,
                        Case.payload.is_not(None),
                        Case.updated_at < utcday(now - self._rejected_after),
                    )
                )
                for case in old:
                    await shred_case(session, case, CaseStatus.REJECTED)
                    rejected += 1
            compacted, rows = await self._compact_deliveries(session, now)
            # An answer button dies this long after its question was asked.
            tokens = await session.execute(
                update(FollowUp)
                .where(
                    FollowUp.token_hash.is_not(None),
                    FollowUp.created_at <= now - self._answer_token_ttl,
                )
                .values(token_hash=None)
            )
            purged = Purged(
                drafts=int(getattr(drafts, "rowcount", 0) or 0),
                draft_files=int(getattr(files, "rowcount", 0) or 0),
                rejected_cases=rejected,
                broadcasts_compacted=compacted,
                delivery_rows=rows,
                answer_tokens=int(getattr(tokens, "rowcount", 0) or 0),
                answer_pieces=pieces,
            )
            await audit.record(
                session, actor="system", action="retention.purge", detail=purged.__dict__
            )
        if purged.drafts or purged.answer_pieces:  # their earlier versions off the disk too
            await db.wipe_traces(self._sessionmaker.kw["bind"])
        return purged

    async def _compact_deliveries(self, session: AsyncSession, now: object) -> tuple[int, int]:
        old = list(
            await session.scalars(
                select(Broadcast).where(
                    Broadcast.status.in_([DONE, CANCELLED]),
                    Broadcast.sent_count.is_(None),
                    Broadcast.finished_at <= utcnow() - DELIVERY_KEEP,
                )
            )
        )
        removed = 0
        for broadcast in old:
            counts = dict(
                (state, int(n))
                for state, n in await session.execute(
                    select(Delivery.state, func.count(Delivery.id))
                    .where(Delivery.broadcast_id == broadcast.id)
                    .group_by(Delivery.state)
                )
            )
            broadcast.sent_count = counts.get(DeliveryState.SENT, 0)
            broadcast.failed_count = counts.get(DeliveryState.FAILED, 0)
            broadcast.blocked_count = counts.get(DeliveryState.BLOCKED, 0)
            result = await session.execute(
                delete(Delivery).where(Delivery.broadcast_id == broadcast.id)
            )
            removed += int(getattr(result, "rowcount", 0) or 0)
        return len(old), removed


__all__ = ["Purged", "Reminder", "Retention", "shred_case"]
