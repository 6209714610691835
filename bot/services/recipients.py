"""Reviewer keys over time: add, list, retire (re-wrapping old cases is bot/reviewing/rewrap.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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

    async def retire(self, key_id: str, *, actor: str) -> None:
        """New cases stop being sealed to this key at once; old ones stay readable by it."""
        async with self._sessionmaker() as session, session.begin():
            row = await session.scalar(select(Recipient).where(Recipient.key_id == key_id))
            if row is None:
                raise UnknownKey(key_id)
            row.active, row.retired_at = False, utcnow()
            await audit.record(session, actor=actor, action="key.retired", target=key_id)
