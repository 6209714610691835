"""Possible duplicates: the same detainee reported twice, in any script — found on the
reviewer's machine from her own encrypted index (duplicate_index.py), never on the server.

Each use brings the index up to date first, opening only the cases it has not seen: those
added since the highest case id it holds, and any older one sealed to her since (a rewrap,
or a submit that committed after a later one). Withdrawn and deleted cases leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, select

from bot.crypto import CryptoError, open_sealed
from bot.models import Case, Recipient, SealedKey
from bot.reviewing.duplicate_index import SIMILAR, DuplicateIndex
from bot.reviewing.opening import ReviewError

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

__all__ = ["SIMILAR", "Duplicates", "Updated"]
BATCH = 200


@dataclass(frozen=True)
class Updated:
    """What an update did: cases opened, cases dropped, cases now in the index."""

    opened: int
    dropped: int
    indexed: int


class Duplicates:
    """Find cases about the same person from her local index (`path`; in memory if None)."""

    def __init__(self, reviewer: Reviewer, path: Path | None = None) -> None:
        self._reviewer = reviewer
        self.path = path
        self._index: DuplicateIndex | None = None
        self._pairs: list[tuple[str, str, str]] | None = None

    async def update(self) -> Updated:
        """Open the cases the index lacks, drop the ones gone; write the file if it changed."""
        key = self._reviewer.key
        if self._index is None:
            self._index = (
                DuplicateIndex.load(self.path, key) if self.path else DuplicateIndex(key.key_id)
            )
        index = self._index
        async with self._reviewer._sessionmaker() as session:
            mine = await session.scalar(select(Recipient.id).where(Recipient.key_id == key.key_id))
            live = set(
                await session.scalars(
                    select(Case.id)
                    .join(
                        SealedKey,
                        and_(
                            SealedKey.kind == "case",
                            SealedKey.object_uid == Case.uid,
                            SealedKey.recipient_id == mine,
                        ),
                    )
                    .where(Case.payload.is_not(None))
                )
            )
        dropped = index.drop([i for i in [*index.entries, *index.unreadable] if i not in live])
        # Added since the highest id indexed, and any older one not seen yet (see above).
        wanted = sorted(live - index.entries.keys() - index.unreadable)
        opened = 0
        for start in range(0, len(wanted), BATCH):
            # A batch of cases by row id, then their data keys as wrapped for her: two
            # queries on unique indexes (one joined query made SQLite scan every case).
            async with self._reviewer._sessionmaker() as session:
                cases = list(
                    await session.execute(
                        select(Case.id, Case.code, Case.uid, Case.payload).where(
                            Case.id.in_(wanted[start : start + BATCH]), Case.payload.is_not(None)
                        )
                    )
                )
                keys: dict[str, bytes] = dict(
                    (uid, wrapped)
                    for uid, wrapped in await session.execute(
                        select(SealedKey.object_uid, SealedKey.wrapped_key).where(
                            SealedKey.kind == "case",
                            SealedKey.object_uid.in_([case.uid for case in cases]),
                            SealedKey.recipient_id == mine,
                        )
                    )
                )
            for case_id, code, uid, sealed in cases:
                opened += 1
                try:
                    if uid not in keys or sealed is None:
                        raise ReviewError(f"case {code} is not sealed to this key")
                    plain = open_sealed(sealed, keys[uid], key, object_id=uid, kind="case")
                    async with self._reviewer._sessionmaker() as session:  # a manifest's pieces
                        payload = await self._reviewer.record(session, case_id, code, uid, plain)
                except (ReviewError, CryptoError):
                    index.unreadable.add(case_id)
                    continue
                index.add(case_id, code, payload)
        if wanted or dropped:
            self._pairs = None
            if self.path is not None:
                index.save(self.path, key)
        return Updated(opened=opened, dropped=dropped, indexed=len(index.entries))

    async def _current(self) -> DuplicateIndex:
        await self.update()
        assert self._index is not None  # noqa: S101 - set by update()
        return self._index

    async def search(self, name: str) -> list[str]:
        """Codes of cases naming someone like this, in any script."""
        return (await self._current()).search(name)

    async def names(self) -> dict[str, list[str]]:
        """Each case's names as written (code -> names), from her index: the queue shows
        them on her machine; nothing of them is sent anywhere."""
        return (await self._current()).names()

    async def find(self) -> list[tuple[str, str, str]]:
        """Pairs (code, code, why): the same ID number, the same folded name, or close names
        with the same birth year and hometown, across Cyrillic, Latin, Chinese and Arabic
        spellings."""
        index = await self._current()
        if self._pairs is None:
            self._pairs = index.pairs()
        return list(self._pairs)

    async def flagged(self) -> set[str]:
        """Codes of every case that is one of a possible pair (the queue's "duplicate?")."""
        return {code for pair in await self.find() for code in pair[:2]}
