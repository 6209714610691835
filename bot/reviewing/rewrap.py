"""Let a new reviewer open old cases: wrap each data key this reviewer can open for her too.

Runs on a reviewer's machine with her private key; nothing is re-encrypted, and what is to
change goes to the bot as requests she signs (bot/reviewing/requests.py). It walks the one
table of wrapped keys (`sealed_keys`), so every kind of sealed object — case payloads, files,
notes, questions, and any kind added later — is covered without naming them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import CryptoError, RecipientPublicKey, unwrap_data_key, wrap_data_key
from bot.crypto.keys import normalise_fingerprint
from bot.crypto.requests import b64
from bot.models import Recipient, SealedKey
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError, TeamKeys, TeamListMissing
from bot.reviewing.requests import Requests
from bot.services.recipients import UnknownKey
from bot.services.requests_keys import held_digest

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
    requests: Requests,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Wrap every data key this reviewer can open for another reviewer too.

    The target is named by her full fingerprint and must be in the signed roster this
    reviewer pinned (or, while the database holds none, in her own team key list); her
    public key is taken from there, never from the database, whose row only gives the id
    the wrapped keys name. Nothing is re-encrypted and no plaintext leaves memory; rows
    already wrapped for the target are skipped, so the command can be stopped and run again.
    Each batch of 200 is a request she signs; the bot writes the rows.
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
    done, last = 0, 0
    while True:
        async with sessionmaker() as session:
            batch = list(
                await session.scalars(
                    select(SealedKey)
                    .where(
                        SealedKey.id.in_(
                            missing.where(SealedKey.id > last).order_by(SealedKey.id).limit(BATCH)
                        )
                    )
                    .order_by(SealedKey.id)
                )
            )
        if not batch:
            break
        rows = []
        for wrapped in batch:
            kind, uid = wrapped.kind, wrapped.object_uid
            data_key = unwrap_data_key(wrapped.wrapped_key, key, object_id=uid, kind=kind)
            again = wrap_data_key(data_key, recipient, object_id=uid, kind=kind)
            del data_key
            rows.append({"kind": kind, "uid": uid, "wrapped": b64(again)})
        await requests.submit("rewrap", {"to": wanted, "rows": rows})
        last = batch[-1].id
        done += len(batch)
        if progress is not None:
            progress(done, int(total or 0))
    return done


class StillListed(Exception):
    """The key is in the signed roster: an admin leaves it out of the next roster first."""


class NotCovered(Exception):
    """Some objects the departed key holds this reviewer cannot open: rewrap them first."""

    def __init__(self, alone: int) -> None:
        super().__init__(alone)
        self.alone = alone


async def revoke(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: ReviewerKey,
    departed: str,
    *,
    team: TeamKeys,
    requests: Requests,
) -> int:
    """Drop every wrapped key of a reviewer who left (`departed`, her key id), once she is
    out of the roster this reviewer verified and this reviewer's own key opens every object
    she holds — each checked by unwrapping it, so rows a database writer added cannot make
    her last working copy go. A request she signs names the objects she checked; the bot
    deletes the keys only if the departed key holds exactly those. Returns how many."""
    try:
        listed = await team.listed()
    except TeamListMissing as exc:
        raise ReviewError(f"nothing was revoked: {exc}") from None
    if departed in {public.key_id for public in listed.values()}:
        raise StillListed(departed)
    if key.public().fingerprint not in listed:
        raise ReviewError(f"your key is not in {team.source}: nothing was revoked")
    async with sessionmaker() as session:
        row = await session.scalar(select(Recipient).where(Recipient.key_id == departed))
        mine = await session.scalar(select(Recipient).where(Recipient.key_id == key.key_id))
        if row is None or mine is None:
            raise UnknownKey(departed if row is None else key.key_id)
        held = list(
            await session.scalars(select(SealedKey).where(SealedKey.recipient_id == row.id))
        )
        alone = 0
        for wrapped in held:
            own = await session.scalar(
                select(SealedKey.wrapped_key).where(
                    SealedKey.recipient_id == mine.id,
                    SealedKey.kind == wrapped.kind,
                    SealedKey.object_uid == wrapped.object_uid,
                )
            )
            try:
                if own is None:
                    raise CryptoError("not held")
                unwrap_data_key(own, key, object_id=wrapped.object_uid, kind=wrapped.kind)
            except CryptoError:
                alone += 1
    if alone:
        raise NotCovered(alone)
    checked = held_digest([(wrapped.kind, wrapped.object_uid) for wrapped in held])
    await requests.submit(
        "revoke", {"departed": departed, "held": len(held), "held_sha256": checked}
    )
    return len(held)
