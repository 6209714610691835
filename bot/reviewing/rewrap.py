"""Let a new reviewer open old cases: wrap each data key this reviewer can open for her too.

Runs on a reviewer's machine with her private key; nothing is re-encrypted. It walks the one
table of wrapped keys (`sealed_keys`), so every kind of sealed object — case payloads, files,
notes, questions, and any kind added later — is covered without naming them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import RecipientPublicKey, unwrap_data_key, wrap_data_key
from bot.crypto.keys import normalise_fingerprint
from bot.models import Recipient, SealedKey
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError, TeamKeys, TeamListMissing
from bot.services import audit
from bot.services.recipients import UnknownKey

BATCH = 200
FINGERPRINT_LENGTH = 64


def _public(row: Recipient) -> RecipientPublicKey:
    return RecipientPublicKey(suite=row.suite, public_bytes=row.public_key, label=row.label)


async def rewrap(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: ReviewerKey,
    to_fingerprint: str,
    *,
    team: TeamKeys,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Wrap every data key this reviewer can open for another reviewer too.

    The target is named by her full fingerprint and must be in the signed roster this
    reviewer pinned (or, while the database holds none, in her own team key list); her
    public key is taken from there, never from the database, whose row only gives the id
    the wrapped keys name. Nothing is re-encrypted and no plaintext leaves memory; rows
    already wrapped for the target are skipped, so the command can be stopped and run again.
    """
    wanted = normalise_fingerprint(to_fingerprint)
    if len(wanted) != FINGERPRINT_LENGTH:
        raise ReviewError(
            "give the new reviewer's full fingerprint (64 hex digits, as `aigaq keys roster "
            "show` lists it), not a key id: nothing was rewrapped"
        )
    try:
        listed = await team.listed()
    except TeamListMissing as exc:
        raise ReviewError(f"nothing was rewrapped: {exc}") from None
    recipient = listed.get(wanted)
    if recipient is None:
        raise ReviewError(
            f"the key with fingerprint {wanted} is not in {team.source}: nothing was rewrapped"
        )
    async with sessionmaker() as session:
        mine = await session.scalar(select(Recipient).where(Recipient.key_id == key.key_id))
        target = await session.scalar(select(Recipient).where(Recipient.key_id == recipient.key_id))
    if mine is None:
        raise UnknownKey(key.key_id)
    if target is None:
        raise UnknownKey(recipient.key_id)
    if _public(target).fingerprint != wanted:
        raise ReviewError(
            f"the database's row for key {recipient.key_id} holds another public key than "
            f"{team.source}: someone changed the database; nothing was rewrapped"
        )
    to_key_id = recipient.key_id
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
