"""Reviewer keys over time, as the recipients table (the roster's look-up copy) shows them:
which the signed roster lists (bot/services/team.py) and how many cases each holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import RecipientPublicKey
from bot.models import Recipient, SealedKey

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
