"""Reviewer keys over time, as the recipients table (the roster's look-up copy) shows them:
which the signed roster lists (bot/services/team.py) and how many cases each holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.crypto import RecipientPublicKey
from bot.models import Recipient, SealedKey, utcnow
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

    async def listing(self) -> list[RecipientInfo]:
        async with self._sessionmaker() as session:
            counts = dict(
                (rid, int(n))
                for rid, n in await session.execute(
                    select(SealedKey.recipient_id, func.count(SealedKey.id))
                    .where(SealedKey.kind == "case", SealedKey.recipient_id.is_not(None))
                    .group_by(SealedKey.recipient_id)
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


class StillListed(Exception):
    """The key is in the signed roster: an admin leaves it out of the next roster first."""


class NotCovered(Exception):
    """Some objects are sealed to this key alone: another reviewer must rewrap them first."""

    def __init__(self, alone: int) -> None:
        super().__init__(alone)
        self.alone = alone


async def revoke(
    sessionmaker: async_sessionmaker[AsyncSession],
    key_id: str,
    *,
    listed: set[str],
    actor: str,
) -> int:
    """Drop every wrapped key of a reviewer who left, once reviewers still in the roster
    (`listed`: their key ids) hold every object she holds; returns how many went. Her old
    laptop then opens nothing that is still on the server."""
    if key_id in listed:
        raise StillListed(key_id)
    async with sessionmaker() as session, session.begin():
        row = await session.scalar(select(Recipient).where(Recipient.key_id == key_id))
        if row is None:
            raise UnknownKey(key_id)
        others = select(Recipient.id).where(Recipient.key_id.in_(listed))
        covered = aliased(SealedKey)
        alone = await session.scalar(
            select(func.count(SealedKey.id)).where(
                SealedKey.recipient_id == row.id,
                ~exists().where(
                    covered.kind == SealedKey.kind,
                    covered.object_uid == SealedKey.object_uid,
                    covered.recipient_id.in_(others),
                ),
            )
        )
        if alone:
            raise NotCovered(int(alone))
        gone = await session.execute(delete(SealedKey).where(SealedKey.recipient_id == row.id))
        row.active, row.retired_at = False, row.retired_at or utcnow()
        count = int(getattr(gone, "rowcount", 0) or 0)
        await audit.record(
            session, actor=actor, action="key.revoked", target=key_id, detail={"objects": count}
        )
    return count
