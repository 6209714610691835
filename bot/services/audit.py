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
    # The newest row (id, hash) once the chain verifies: what a reviewer's tools remember.
    head: tuple[int, str] | None = None


async def verify_chain(session: AsyncSession, since: tuple[int, str] | None = None) -> ChainReport:
    """Recompute every hash in order; name the first row that does not match. With `since`
    (a head remembered earlier: row id and hash), that row must still be there with that
    hash, so a log rewritten before it is caught even if every hash after the rewrite was
    recomputed too."""
    expected_prev = GENESIS
    head = None
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
        if since is not None and entry.id == since[0] and entry.hash != since[1]:
            return ChainReport(rows=count, first_broken=entry.id)
        expected_prev = entry.hash
        head = (entry.id, entry.hash)
    if since is not None and (head is None or head[0] < since[0]):
        # The remembered row is gone: rows were deleted from the end of the log.
        return ChainReport(rows=count, first_broken=since[0])
    if since is not None and not await session.get(AuditEntry, since[0]):
        return ChainReport(rows=count, first_broken=since[0])
    return ChainReport(rows=count, first_broken=None, head=head)


def anchor(sealed: bytes) -> str:
    """What the log keeps of a sealed object: its ciphertext's SHA-256 (tamper evidence)."""
    return hashlib.sha256(sealed).hexdigest()


async def anchored(session: AsyncSession, action: str, target: str, field: str) -> str | None:
    """The newest anchor the log holds for this action and target (None if none)."""
    detail = await session.scalar(
        select(AuditEntry.detail)
        .where(AuditEntry.action == action, AuditEntry.target == target)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    if detail is None:
        return None
    value = json.loads(detail).get(field)
    return str(value) if value else None


@dataclass(frozen=True)
class Anchors:
    """The anchors the log holds for one action and target (object uid -> ciphertext
    SHA-256), and since when the log anchors that action at all (older objects have none)."""

    by_uid: dict[str, str]
    since: datetime | None


async def anchors(session: AsyncSession, action: str, target: str) -> Anchors:
    found: dict[str, str] = {}
    for detail in await session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == action, AuditEntry.target == target)
    ):
        data = json.loads(detail)
        uid = data.get("note") or data.get("question")
        if uid and data.get("sealed"):
            found[str(uid)] = str(data["sealed"])
    first = await session.scalar(
        select(AuditEntry.at)
        .where(AuditEntry.action == action, AuditEntry.detail.like('%"sealed"%'))
        .order_by(AuditEntry.id)
        .limit(1)
    )
    return Anchors(found, _utc(first) if first else None)
