"""The append-only audit log: each row carries the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, utcday, utcnow

GENESIS = "0" * 64
# The actor of anything a relative did: her pseudonym never enters the log (DESIGN.md).
RELATIVE = "relative"
# PostgreSQL advisory lock key of the audit writer: "aigaqaud" in ASCII.
AUDIT_WRITER_LOCK = 0x6169676171617564


def _utc(moment: datetime) -> datetime:
    # SQLite returns timestamps without a zone; they were written in UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(entry: AuditEntry) -> str:
    body = json.dumps(
        [
            entry.prev_hash,
            _utc(entry.at).isoformat(timespec="microseconds"),
            entry.actor,
            entry.action,
            entry.target,
            entry.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def _one_writer_at_a_time(session: AsyncSession) -> None:
    """Hold the audit log to this transaction until it ends, before the last hash is read.

    Without it two transactions read the same last hash and fork the chain: a row lock on
    the last row does not help, as under READ COMMITTED the second one still sees the old
    row as the last.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(AUDIT_WRITER_LOCK)))
    elif dialect == "sqlite":
        # The driver opens the transaction only at the first write, so a read before it
        # sees a state that another writer may change before this one commits. A write
        # that changes nothing takes SQLite's one write lock (or waits for it) first.
        await session.execute(
            update(AuditEntry)
            .where(false())
            .values(id=AuditEntry.id)
            .execution_options(synchronize_session=False)
        )


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one row in the caller's transaction. Detail holds counts and codes, never content.

    Other audit writers wait until the caller's transaction ends.
    """
    await _one_writer_at_a_time(session)
    previous = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        # What a relative did is dated to the day only, like everything else of hers.
        at=utcday() if actor == RELATIVE else utcnow(),
        actor=actor,
        action=action,
        target=target,
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
        prev_hash=previous or GENESIS,
    )
    entry.hash = _digest(entry)
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    rows: int
    first_broken: int | None


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every hash in order; name the first row that does not match."""
    expected_prev = GENESIS
    count = 0
    for entry in await session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        probe = AuditEntry(
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
        if entry.prev_hash != expected_prev or _digest(probe) != entry.hash:
            return ChainReport(rows=count, first_broken=entry.id)
        expected_prev = entry.hash
    return ChainReport(rows=count, first_broken=None)
