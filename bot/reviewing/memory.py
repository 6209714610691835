"""What a reviewer's machine remembers, so that a change made in the database shows.

The audit log is a hash chain, but anyone who can write to the database can rewrite it and
recompute every hash. So her tools remember, in a file beside her key sealed under it
(bot/reviewing/local_file.py), the newest row of the log they verified and, for each case
they opened, the SHA-256 of its sealed manifest. Each time they run they verify the log from
that row on (a log rewritten before it is caught), and each time they open a case they check
its manifest against the log's anchor for it (written at Submit) and against what they saw
the first time. Either mismatch stops them with CaseChanged, naming the case.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto.intake import anchor_signed
from bot.models import AuditEntry, Case
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.local_file import open_local, seal_local
from bot.reviewing.opening import ReviewError
from bot.services import audit
from bot.services.attest import ATTESTED
from bot.services.cases import SUBMITTED

# The audit actions whose rows anchor a sealed object.
ANCHORING = (SUBMITTED, "case.status", "followup.asked", "followup.answered", ATTESTED)

MAGIC = b"aigaq-memory-v1\n"
PURPOSE = "memory"
SUFFIX = ".memory"


def beside(key_file: Path) -> Path:
    """Where her tools' memory lives: next to her key file."""
    return key_file.with_name(key_file.name + SUFFIX)


class CaseChanged(ReviewError):
    """The database holds something other than what was submitted, or than she saw."""


@dataclass
class Memory:
    """The newest audit row verified, and each opened case's manifest digest."""

    head: tuple[int, str] | None = None
    cases: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"head": list(self.head) if self.head else None, "cases": self.cases}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Memory:
        head = data.get("head")
        return cls((int(head[0]), str(head[1])) if head else None, dict(data.get("cases", {})))


@dataclass(frozen=True)
class Trust:
    """Whose signed anchors her tools accept: the bot's intake key(s) she pinned, and the
    export-signing keys of the roster's reviewers (fingerprints)."""

    bot: frozenset[str]
    reviewers: frozenset[str]


class Vouch:
    """Checks what her tools read against the log's signed anchors and what her machine
    remembers."""

    def __init__(
        self,
        key: ReviewerKey,
        path: Path | None,
        trust: Callable[[], Awaitable[Trust | None]] | None = None,
    ) -> None:
        self._trust_of = trust
        # Told of every refusal (the reviewer's tools audit it), then the refusal is raised.
        self.on_refusal: Callable[[str], Awaitable[None]] | None = None
        self._trusted: Trust | None = None
        self._trust_read = False
        self._key = key
        self._path = path  # None: remembered for this run only (tests, benchmarks)
        self._memory: Memory | None = None
        self._log_checked = False
        self._dirty = False
        self._since: datetime | None = None  # the first anchored Submit, once looked up

    def _loaded(self) -> Memory:
        if self._memory is None:
            content = None
            if self._path is not None:
                content = open_local(
                    self._path, self._key, MAGIC, PURPOSE, "reviewer's memory", "a new key file"
                )
            self._memory = Memory.from_json(json.loads(content)) if content else Memory()
        return self._memory

    async def log(self, session: AsyncSession) -> None:
        """Verify the audit log from the newest row remembered (once per run)."""
        if self._log_checked:
            return
        memory = self._loaded()
        report = await audit.verify_chain(session, since=memory.head)
        if report.first_broken is not None:
            where = (
                f"row {report.first_broken} no longer holds the hash this machine saw"
                if memory.head and report.first_broken == memory.head[0]
                else f"it breaks at row {report.first_broken}"
            )
            raise await self._refusal(
                f"the audit log was changed in the database: {where}. Stop and tell the team; "
                "nothing was opened"
            )
        if report.head != memory.head:
            memory.head = report.head
            self._dirty = True
        self._log_checked = True

    @property
    def head(self) -> tuple[int, str] | None:
        """The newest audit row verified (after `log`)."""
        return self._loaded().head

    async def _refusal(self, *parts: str) -> CaseChanged:
        message = "".join(parts)
        if self.on_refusal is not None:
            await self.on_refusal(message)
        return CaseChanged(message)

    async def _trust(self) -> Trust | None:
        if not self._trust_read:
            self._trusted = await self._trust_of() if self._trust_of else None
            self._trust_read = True
        return self._trusted

    async def _signed(
        self,
        session: AsyncSession,
        kind: str,
        uid: str,
        code: str,
        sealed: bytes,
        signers: frozenset[str],
    ) -> bool | None:
        """Whether the log holds an anchor of this object signed by one of `signers`; None
        when it holds no anchor of it at all, signed or not."""
        digest = audit.anchor(sealed)
        found = False
        for raw in await session.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.target == code, AuditEntry.action.in_(ANCHORING)
            )
        ):
            detail = json.loads(raw)
            if detail.get("uid") != uid and detail.get(kind) != uid:
                continue
            found = True
            if anchor_signed(detail, kind, uid, code, digest, set(signers)):
                return True
        return False if found else None

    async def case(self, session: AsyncSession, case: Case) -> None:
        """Its sealed manifest is the one submitted (the log's anchor, signed by the bot's
        intake key when her tools pin it) and the one she saw first on this machine."""
        if case.payload is None:
            return
        await self.log(session)
        digest = audit.anchor(case.payload)
        trust = await self._trust()
        if trust is not None:
            signed = await self._signed(
                session, "case", case.uid, case.code, case.payload, trust.bot
            )
            if not signed:
                raise await self._refusal(
                    f"case {case.code} "
                    + (
                        "was never submitted through the bot: the audit log holds no anchor "
                        "of it signed by the bot's intake key"
                        if signed is None
                        else "is not the case that was submitted: no anchor signed by the "
                        "bot's intake key matches its sealed record"
                    )
                    + ". Someone changed the database; nothing of it was opened"
                )
        else:
            await self._unsigned_case(session, case, digest)
        memory = self._loaded()
        seen = memory.cases.get(case.code)
        if seen is not None and seen != digest:
            raise await self._refusal(
                f"case {case.code} changed since this machine first opened it: its sealed "
                "record is another one now. Someone changed the database; nothing of it was "
                "opened"
            )
        if seen is None:
            memory.cases[case.code] = digest
            self._dirty = True

    async def _unsigned_case(self, session: AsyncSession, case: Case, digest: str) -> None:
        """Without the bot's intake key pinned: the log's anchor compared, as far as it goes
        (anyone who can write to the database can write an anchor too)."""
        submitted = await audit.anchored(session, SUBMITTED, case.code, "manifest")
        if submitted is None and await self._anchored_since(session, case):
            raise await self._refusal(
                f"case {case.code} was never submitted through the bot: the audit log holds no "
                "anchor for it, though it anchors every case since "
                f"{self._since:%Y-%m-%d}. Someone inserted it into the database; nothing of it "
                "was opened"
            )
        if submitted is not None and submitted != digest:
            raise await self._refusal(
                f"case {case.code} is not the case that was submitted: its sealed record "
                "differs from the one the audit log anchored at Submit. Someone changed the "
                "database; nothing of it was opened"
            )

    async def sealed(
        self,
        session: AsyncSession,
        case: Case,
        kind: str,
        uid: str,
        sealed: bytes,
        created_at: datetime,
    ) -> None:
        """A note, question or set of answers of this case is the one anchored when it was
        written: signed by a reviewer of the roster (notes, questions) or the bot (answers,
        and what it attested once for everything sealed before) when her tools pin their
        keys; otherwise compared with the unsigned anchor, if the log has one."""
        trust = await self._trust()
        if trust is not None:
            signers = trust.bot if kind == "answer" else trust.bot | trust.reviewers
            if await self._signed(session, kind, uid, case.code, sealed, signers):
                return
        elif await self._unsigned_matches(session, case, kind, uid, sealed, created_at):
            return
        article = "an" if kind[0] in "aeiou" else "a"
        raise await self._refusal(
            f"{article} {kind} of case {case.code} ({uid}) is not the one anchored when it was "
            "written: someone changed the database; nothing of it was opened"
        )

    async def _unsigned_matches(
        self,
        session: AsyncSession,
        case: Case,
        kind: str,
        uid: str,
        sealed: bytes,
        created_at: datetime,
    ) -> bool:
        action = {
            "note": "case.status",
            "question": "followup.asked",
            "answer": "followup.answered",
        }[kind]
        held = await audit.anchors(session, action, case.code)
        expected = held.by_uid.get(uid)
        if expected == audit.anchor(sealed):
            return True
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        return expected is None and (held.since is None or created < held.since)

    async def answers(
        self,
        session: AsyncSession,
        case: Case,
        followup_uid: str,
        given: list[tuple[str, bytes | None]],
        answered_at: datetime | None,
    ) -> None:
        """Her answers to a question are the ones the log anchored when she pressed Done."""
        if answered_at is None:
            return
        joined = b"".join(uid.encode() + (record or b"") for uid, record in sorted(given))
        await self.sealed(session, case, "answer", followup_uid, joined, answered_at)

    async def _anchored_since(self, session: AsyncSession, case: Case) -> bool:
        """Whether the log already anchored submitted cases when this one was made."""
        if self._since is None:
            first = await session.scalar(
                select(AuditEntry.at)
                .where(AuditEntry.action == SUBMITTED)
                .order_by(AuditEntry.id)
                .limit(1)
            )
            if first is None:
                return False
            self._since = first if first.tzinfo else first.replace(tzinfo=UTC)
        made = case.created_at if case.created_at.tzinfo else case.created_at.replace(tzinfo=UTC)
        # Strictly after the first anchored day: a case of that same day may be older.
        return made > self._since

    def flush(self) -> None:
        """Write what changed to her file (after a command, not after every case)."""
        if self._dirty and self._path is not None and self._memory is not None:
            content = json.dumps(self._memory.to_json(), separators=(",", ":")).encode()
            seal_local(self._path, self._key, MAGIC, PURPOSE, content)
        self._dirty = False
