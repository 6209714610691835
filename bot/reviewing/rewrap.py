"""Let a new reviewer open old cases: wrap each data key this reviewer can open for her too.

Runs on a reviewer's machine with her private key; nothing is re-encrypted.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import RecipientPublicKey, unwrap_data_key, wrap_data_key
from bot.models import Attachment, Case, CaseKey, Recipient
from bot.reviewing.keys import ReviewerKey
from bot.services import audit
from bot.services.recipients import UnknownKey

BATCH = 200


def _public(row: Recipient) -> RecipientPublicKey:
    return RecipientPublicKey(suite=row.suite, public_bytes=row.public_key, label=row.label)


async def rewrap(
    sessionmaker: async_sessionmaker[AsyncSession],
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
    async with sessionmaker() as session:
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
    async with sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(missing.subquery()))
    done = 0
    recipient = _public(target)
    while True:
        async with sessionmaker() as session, session.begin():
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
                data_key = unwrap_data_key(wrapped.wrapped_key, key, object_id=object_id, kind=kind)
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
    async with sessionmaker() as session, session.begin():
        await audit.record(
            session,
            actor=actor,
            action="key.rewrapped",
            target=to_key_id,
            detail={"objects": done, "from": key.key_id},
        )
    return done
