"""Withdrawing a case: by her receipt (from any account) or by the team at her request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db
from bot.models import Case, CaseStatus, SealedKey
from bot.sealing import of_case
from bot.services import audit
from bot.services.cases import normalise_code
from bot.services.retention import shred_case
from bot.services.roles import CLI


@dataclass
class Tombstones:
    """Receipts whose case was withdrawn by this process, as their hashes, for a day, in
    memory only: "withdrawn already" to whoever sends the same receipt again. The database
    keeps no receipt hash of a withdrawn case, so after a restart (or a day) the answer is
    the one for a receipt that was never given; nothing more than the receipt proves is said."""

    keep_for: float = 24 * 3600
    _pending: dict[int, str] = field(default_factory=dict)  # case id -> receipt hash
    _gone: dict[str, float] = field(default_factory=dict)  # receipt hash -> when

    def offered(self, case_id: int, digest: str) -> None:
        """A withdrawal was offered for this receipt's case."""
        self._pending[case_id] = digest
        if len(self._pending) > 10_000:
            self._pending.clear()

    def withdrawn(self, case_id: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if (digest := self._pending.pop(case_id, None)) is not None:
            self._gone = {d: t for d, t in self._gone.items() if now - t < self.keep_for}
            self._gone[digest] = now

    def was_withdrawn(self, digest: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return now - self._gone.get(digest, -self.keep_for - now) < self.keep_for


TOMBSTONES = Tombstones()


@dataclass(frozen=True)
class Withdrawn:
    code: str
    attachments: int
    keys: int


async def withdraw_case(
    sessionmaker: async_sessionmaker[AsyncSession], case_id: int, *, actor: str = audit.RELATIVE
) -> Withdrawn | None:
    """Crypto-shred the case: payload, files, notes, questions, deliveries, contact, every
    wrapped key and the receipt's hash go; the code, the day and «withdrawn» stay, and the
    audit log says who did it (`relative`, or the team's command). None if it was gone."""
    async with sessionmaker() as session, session.begin():
        case = await session.get(Case, case_id, with_for_update=True)
        if case is None or case.status == CaseStatus.WITHDRAWN:
            return None
        keys = await session.scalar(select(func.count(SealedKey.id)).where(of_case(case.id)))
        key_count = int(keys or 0)
        files = await shred_case(session, case, CaseStatus.WITHDRAWN)
        case.receipt_hash = None
        code = case.code
        await audit.record(
            session,
            actor=actor,
            action="case.withdrawn",
            target=code,
            detail={"attachments": files, "keys": key_count},
        )
    await db.wipe_traces(sessionmaker.kw["bind"])
    return Withdrawn(code=code, attachments=files, keys=key_count)


async def withdraw_by_code(
    sessionmaker: async_sessionmaker[AsyncSession], code: str
) -> Withdrawn | None:
    """The team's withdrawal at her request (she lost her receipt code): by the case code,
    audited with the command line as actor."""
    async with sessionmaker() as session:
        case_id = await session.scalar(select(Case.id).where(Case.code == normalise_code(code)))
    if case_id is None:
        return None
    return await withdraw_case(sessionmaker, case_id, actor=CLI)
