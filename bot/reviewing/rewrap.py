"""Let a new reviewer open old cases: wrap each data key this reviewer can open for her too.

Runs on a reviewer's machine with her private key; nothing is re-encrypted. It walks the one
table of wrapped keys (`sealed_keys`), so every kind of sealed object — case payloads, files,
notes, questions, and any kind added later — is covered without naming them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import RecipientPublicKey, load_recipients, unwrap_data_key, wrap_data_key
from bot.models import Recipient, SealedKey
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError
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
    team_keys: Path | None = None,
) -> int:
    """Wrap every data key this reviewer can open for another recipient too.

    Nothing is re-encrypted and no plaintext leaves memory; rows already wrapped for the
    target are skipped, so the command can be stopped and run again. With `team_keys` (her
    own team key list), a target whose key is not in it is refused.
    """
    async with sessionmaker() as session:
        mine = await session.scalar(select(Recipient).where(Recipient.key_id == key.key_id))
        target = await session.scalar(select(Recipient).where(Recipient.key_id == to_key_id))
    if mine is None:
        raise UnknownKey(key.key_id)
    if target is None:
        raise UnknownKey(to_key_id)
    recipient = _public(target)
    if team_keys is not None and recipient.fingerprint not in {
        listed.fingerprint for listed in load_recipients(team_keys)
    }:
        raise ReviewError(
            f"key {to_key_id} (fingerprint {recipient.fingerprint}) is not in your team key "
            f"list {team_keys}: nothing was rewrapped"
        )
    theirs = aliased(SealedKey)
    missing = (
        select(SealedKey.id)
        .outerjoin(
            theirs,
            and_(
                theirs.recipient_id == target.id,
                theirs.kind == SealedKey.kind,
                theirs.object_uid == SealedKey.object_uid,
            ),
        )
        .where(SealedKey.recipient_id == mine.id, theirs.id.is_(None))
    )
    async with sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(missing.subquery()))
    done = 0
    while True:
        async with sessionmaker() as session, session.begin():
            batch = list(
                await session.scalars(
                    select(SealedKey).where(SealedKey.id.in_(missing.limit(BATCH)))
                )
            )
            if not batch:
                break
            for wrapped in batch:
                kind, uid = wrapped.kind, wrapped.object_uid
                data_key = unwrap_data_key(wrapped.wrapped_key, key, object_id=uid, kind=kind)
                session.add(
                    SealedKey(
                        kind=kind,
                        object_uid=uid,
                        recipient_id=target.id,
                        wrapped_key=wrap_data_key(data_key, recipient, object_id=uid, kind=kind),
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
