"""Reviewer keys over time: add, list, retire, and re-wrap old cases for a new reviewer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import RecipientPublicKey, ReviewerKey, unwrap_data_key, wrap_data_key
from bot.models import Attachment, Case, CaseKey, Recipient, utcnow
from bot.services import audit

BATCH = 200


class UnknownKey(Exception):
    """No recipient with that key id."""


@dataclass(frozen=True)
class RecipientInfo:
    key_id: str
    label: str
    suite: int
    active: bool
    added_at: datetime
    cases: int


def _public(row: Recipient) -> RecipientPublicKey:
    return RecipientPublicKey(suite=row.suite, public_bytes=row.public_key, label=row.label)


class Recipients:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def add(self, key: RecipientPublicKey, *, actor: str) -> bool:
        """Add (or re-activate) a reviewer key; returns True if it was new."""
        async with self._sessionmaker() as session, session.begin():
            row = await session.scalar(select(Recipient).where(Recipient.key_id == key.key_id))
            new = row is None
            if row is None:
                session.add(
                    Recipient(
                        key_id=key.key_id,
                        suite=key.suite,
                        public_key=key.public_bytes,
                        label=key.label,
                        active=True,
                    )
                )
            else:
                row.active, row.retired_at = True, None
                row.label = key.label or row.label
            await audit.record(session, actor=actor, action="key.added", target=key.key_id)
            return new

    async def listing(self) -> list[RecipientInfo]:
        async with self._sessionmaker() as session:
            counts = dict(
                (rid, int(n))
                for rid, n in await session.execute(
                    select(CaseKey.recipient_id, func.count(CaseKey.id))
                    .where(CaseKey.case_id.is_not(None))
                    .group_by(CaseKey.recipient_id)
                )
            )
            rows = await session.scalars(select(Recipient).order_by(Recipient.id))
            return [
                RecipientInfo(
                    row.key_id,
                    row.label,
                    row.suite,
                    row.active,
                    row.added_at,
                    counts.get(row.id, 0),
                )
                for row in rows
            ]

    async def retire(self, key_id: str, *, actor: str) -> None:
        """New cases stop being sealed to this key at once; old ones stay readable by it."""
        async with self._sessionmaker() as session, session.begin():
            row = await session.scalar(select(Recipient).where(Recipient.key_id == key_id))
            if row is None:
                raise UnknownKey(key_id)
            row.active, row.retired_at = False, utcnow()
            await audit.record(session, actor=actor, action="key.retired", target=key_id)

    async def rewrap(
        self,
        key: ReviewerKey,
        to_key_id: str,
        *,
        actor: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Wrap every data key this reviewer can open for another recipient too.

        Nothing is re-encrypted and no plaintext leaves memory; rows already wrapped for the
        target are skipped, so the command can be stopped and run again.
        """
        async with self._sessionmaker() as session:
            mine = await session.scalar(select(Recipient).where(Recipient.key_id == key.key_id))
            target = await session.scalar(select(Recipient).where(Recipient.key_id == to_key_id))
        if mine is None:
            raise UnknownKey(key.key_id)
        if target is None:
            raise UnknownKey(to_key_id)
        theirs = aliased(CaseKey)
        missing = (
            select(CaseKey.id)
            .outerjoin(
                theirs,
                and_(
                    theirs.recipient_id == target.id,
                    theirs.case_id.is_not_distinct_from(CaseKey.case_id),
                    theirs.attachment_id.is_not_distinct_from(CaseKey.attachment_id),
                ),
            )
            .where(CaseKey.recipient_id == mine.id, theirs.id.is_(None))
        )
        async with self._sessionmaker() as session:
            total = await session.scalar(select(func.count()).select_from(missing.subquery()))
        done = 0
        recipient = _public(target)
        while True:
            async with self._sessionmaker() as session, session.begin():
                batch = list(
                    await session.execute(
                        select(CaseKey, Case.uid, Attachment.uid)
                        .outerjoin(Case, Case.id == CaseKey.case_id)
                        .outerjoin(Attachment, Attachment.id == CaseKey.attachment_id)
                        .where(CaseKey.id.in_(missing.limit(BATCH)))
                    )
                )
                if not batch:
                    break
                for wrapped, case_uid, attachment_uid in batch:
                    object_id, kind = (
                        (case_uid, "case") if wrapped.case_id else (attachment_uid, "attachment")
                    )
                    data_key = unwrap_data_key(
                        wrapped.wrapped_key, key, object_id=object_id, kind=kind
                    )
                    session.add(
                        CaseKey(
                            recipient_id=target.id,
                            case_id=wrapped.case_id,
                            attachment_id=wrapped.attachment_id,
                            wrapped_key=wrap_data_key(
                                data_key, recipient, object_id=object_id, kind=kind
                            ),
                        )
                    )
                    del data_key
                done += len(batch)
            if progress is not None:
                progress(done, int(total or 0))
        async with self._sessionmaker() as session, session.begin():
            await audit.record(
                session,
                actor=actor,
                action="key.rewrapped",
                target=to_key_id,
                detail={"objects": done, "from": key.key_id},
            )
        return done
