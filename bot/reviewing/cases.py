"""The reviewer's queue and her cases, opened with her own key (decide, ask and compare in
decisions.py, followups.py and duplicates.py).

This runs on the reviewer's machine against the same database; plaintext exists only in
this process's memory. Every decision is written to the audit log (who = the key id).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.case import CasePayload
from bot.crypto import CryptoError
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.intake import is_signed_manifest
from bot.crypto.keys import normalise_fingerprint
from bot.crypto.roster import RosterError
from bot.file_record import KIND as FILE_RECORD
from bot.file_record import FileRecord
from bot.models import Attachment, Case, CaseStatus
from bot.reviewing.assignments import apply_assignments
from bot.reviewing.history import events_of, notes_of, verified_before
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.manifest import assemble_case
from bot.reviewing.memory import CaseChanged, Trust, Vouch
from bot.reviewing.opening import ReviewError, TeamKeys, open_object
from bot.reviewing.requests import FileSink, Requests
from bot.reviewing.roster_pin import NoRosterYet, RosterPin
from bot.states import Grade

if TYPE_CHECKING:
    from bot.reviewing.attachments import AttachmentReader
    from bot.reviewing.contact import Contact
    from bot.reviewing.decisions import Decisions
    from bot.reviewing.duplicates import Duplicates
    from bot.reviewing.followups import FollowUps

GRADES = tuple(grade.value for grade in Grade)
# A relative who agreed to contact hears of these changes (code and status only).
TOLD = (CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)


@dataclass(frozen=True)
class QueueItem:
    code: str
    created_at: datetime
    locale: str
    detainees: int
    attachments: int
    status: CaseStatus
    grade: str
    duplicate: bool
    urgent: bool = False
    names: tuple[str, ...] = ()  # as written, from her own index (opened on her machine)


@dataclass
class OpenedCase:
    code: str
    status: CaseStatus
    grade: str
    payload: dict[str, Any]
    notes: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of: str | None = None
    # Decisions, questions and her answers (new information) by date (history.py).
    events: list[dict[str, Any]] = field(default_factory=list)
    # Verified once, then taken out of "verified" by a question with no decision since.
    verified_before: bool = False


def read_case(code: str, plain: bytes) -> dict[str, Any]:
    """An opened payload as the case record of case `code` (its JSON form), or ReviewError."""
    try:
        record = CasePayload.from_json(json.loads(plain))
    except ValueError as exc:  # pydantic's ValidationError included
        raise ReviewError(f"case {code} cannot be read as a case record: {exc}") from None
    if record.code != code:
        raise ReviewError(
            f"the testimony sealed for case {record.code} sits under case {code}: "
            "someone moved it in the database"
        )
    return record.to_json()


def names_of(payload: dict[str, Any]) -> list[str]:
    """Every written name of every detainee in a case."""
    found = []
    for person in payload.get("detainees", []):
        for key in ("name", "name_alt"):
            if isinstance(person.get(key), str):
                found.append(person[key])
    return found


class Reviewer:
    """A reviewer with her key unlocked in memory: the queue, each case opened, and the
    desks for decisions, follow-up questions and duplicates."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key: ReviewerKey,
        *,
        inbox_fingerprint: str | None = None,
        team_keys: Path | None = None,
        duplicate_index: Path | None = None,
        intake_fingerprint: str | None = None,
        roster_pin: RosterPin | None = None,
        memory: Path | None = None,
        requests_file: Path | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.key = key
        # What her machine remembers (the audit log's head, each case's manifest digest),
        # in a file beside her key; None: for this run only.
        self.vouch = Vouch(key, memory, trust=self._trust)
        self.vouch.on_refusal = self._refused
        # The bot's intake signing key she pinned (AIGAQ_INTAKE_FINGERPRINT): a case's
        # manifest signed by another key is refused (bot/reviewing/manifest.py).
        self._intake_fingerprint = intake_fingerprint
        # Her encrypted duplicate index on this machine (duplicate_index.py); None: in memory.
        self._duplicate_index = duplicate_index
        self._inbox_fingerprint = inbox_fingerprint
        # The signed roster she pinned (or, while the database holds none, her own list of
        # the team's keys, AIGAQ_RECIPIENTS): notes and questions are sealed only to database
        # rows whose key is in it.
        self.team = TeamKeys(sessionmaker, key.key_id, team_keys, roster_pin)
        # Everything her tools change is a request she signs, which the bot applies (into
        # the request table, or the file the operator applies with `aigaq apply FILE`).
        self.requests = Requests(
            sessionmaker,
            key,
            roster_pin,
            head=lambda: self.vouch.head,
            sink=FileSink(requests_file) if requests_file else None,
        )
        self.team.report = self.requests.event
        self._head_signed = False

    async def pinned_signer(self, role: str) -> str | None:
        """The fingerprint her tools pin for one of the bot's signing keys (`intake`,
        `delivery`): her settings' if they name it, else the signed roster's she pinned."""
        configured = {
            "intake": self._intake_fingerprint,
            "delivery": self._inbox_fingerprint,
        }.get(role)
        if configured or self.team.roster_pin is None:
            return configured
        try:
            roster = await self.team.roster_pin.verified(self._sessionmaker)
        except NoRosterYet:
            return None
        except RosterError as exc:
            raise ReviewError(f"the team roster cannot be trusted: {exc}") from None
        return roster.signers.get(role)

    async def _refused(self, reason: str) -> None:
        """A case, note, question or answer refused as changed: the log says so too (the
        team sees it in `aigaq audit`, not only the reviewer who met it)."""
        await self.requests.event("review.refused", reason=reason[:200])

    async def _trust(self) -> Trust | None:
        """Whose signed anchors her tools accept; None while the bot's intake key is not
        pinned (then the log's anchors are compared unsigned, as far as that goes)."""
        intake = await self.pinned_signer("intake")
        if not intake:
            return None
        bot = frozenset(normalise_fingerprint(one) for one in intake.split(",") if one.strip())
        return Trust(bot, await self._roster_signers())

    async def _roster_signers(self) -> frozenset[str]:
        """The export-signing keys (fingerprints) of the pinned roster's reviewers."""
        if self.team.roster_pin is None:
            return frozenset()
        try:
            roster = await self.team.roster_pin.verified(self._sessionmaker)
        except NoRosterYet:
            return frozenset()
        except RosterError as exc:
            raise ReviewError(f"the team roster cannot be trusted: {exc}") from None
        return frozenset(signer_fingerprint(r.signing) for r in roster.reviewers if r.signing)

    @cached_property
    def decisions(self) -> Decisions:
        from bot.reviewing.decisions import Decisions

        return Decisions(self)

    @cached_property
    def followups(self) -> FollowUps:
        from bot.reviewing.followups import FollowUps

        return FollowUps(self)

    @cached_property
    def contact(self) -> Contact:
        """Her sealed contact and the bot's certified delivery key (AIGAQ_INBOX_FINGERPRINT
        pins the key that certifies it)."""
        from bot.reviewing.contact import Contact

        return Contact(self, self._inbox_fingerprint)

    @cached_property
    def duplicates(self) -> Duplicates:
        from bot.reviewing.duplicates import Duplicates

        return Duplicates(self, self._duplicate_index)

    async def queue(self, status: CaseStatus | None = None) -> list[QueueItem]:
        async with self._sessionmaker() as session:
            query = select(Case).order_by(Case.id)
            if status is not None:
                query = query.where(Case.status == status)
            rows = list(await session.scalars(query))
        flagged = await self.duplicates.flagged()
        names = await self.duplicates.names()
        return [
            QueueItem(
                row.code,
                row.created_at,
                row.locale,
                row.detainee_count,
                row.attachment_count,
                row.status,
                row.grade,
                row.duplicate_of is not None or row.code in flagged,
                row.urgent,
                tuple(names.get(row.code, ())),
            )
            for row in rows
        ]

    async def _case(self, session: AsyncSession, code: str) -> Case:
        case = await session.scalar(select(Case).where(Case.code == code.upper()))
        if case is None:
            raise ReviewError(f"no case {code}")
        return case

    async def _open(
        self, session: AsyncSession, case: Case, *, files: bool = True
    ) -> dict[str, Any]:
        """The case record; with `files`, each file's hash, size, MIME type and name from its
        sealed record (a file sealed before revision 0012 keeps what the payload lists)."""
        if case.payload is None:
            raise ReviewError(f"case {case.code} was {case.status.value}: nothing is left")
        await self.vouch.case(session, case)
        plain = await open_object(
            session, self.key, "case", case.uid, case.payload, name=f"case {case.code}"
        )
        payload = await self.record(session, case.id, case.code, case.uid, plain)
        if files and payload.get("attachments"):
            await self._file_records(session, case, payload["attachments"])
        # Files she did not attribute, attributed by a reviewer (signed; marked as such).
        await apply_assignments(session, case.code, payload, await self._roster_signers())
        return payload

    async def record(
        self, session: AsyncSession, case_id: int, code: str, uid: str, plain: bytes
    ) -> dict[str, Any]:
        """An opened case object as the case record (its JSON form): a whole record sealed
        before revision 0015 as it is, a signed manifest put together from its pieces."""
        try:
            raw = json.loads(plain)
        except ValueError:
            raise ReviewError(f"case {code} cannot be read as a case record") from None
        if not is_signed_manifest(raw):
            return read_case(code, plain)
        record = await assemble_case(
            session, self.key, case_id, code, uid, raw, await self.pinned_signer("intake")
        )
        return record.to_json()

    async def _file_records(
        self, session: AsyncSession, case: Case, files: list[dict[str, Any]]
    ) -> None:
        rows = await session.execute(
            select(Attachment.uid, Attachment.record).where(
                Attachment.case_id == case.id, Attachment.record.is_not(None)
            )
        )
        sealed: dict[str, bytes] = {uid: record for uid, record in rows if record is not None}
        for item in files:
            if (record := sealed.get(item["uid"])) is None:
                continue
            plain = await open_object(
                session, self.key, FILE_RECORD, item["uid"], record, name=f"file {item['uid']}"
            )
            opened = FileRecord.from_bytes(plain)
            item.update(sha256=opened.sha256, size=opened.size, mime=opened.mime)
            item.update(opened.origin())
            if opened.name:
                item["name"] = opened.name

    async def show(self, code: str) -> OpenedCase:
        """Open a case for her to read; audited the same from the console and the CLI."""
        opened = await self.opened(code)
        self.vouch.flush()
        await self.requests.event("case.viewed", opened.code)
        if not self._head_signed:
            # Once a run: the audit head her tools verified, signed, outside the bot's hands.
            self._head_signed = await self.requests.head() is not None
        return opened

    async def opened(self, code: str) -> OpenedCase:
        """The case opened for the tools' own use (not audited as a reading)."""
        async with self._sessionmaker() as session:
            case = await self._case(session, code)
            payload = await self._open(session, case)
            notes = await notes_of(self, session, case)
            events = await events_of(session, case, notes)
            original = None
            if case.duplicate_of is not None:
                original = await session.scalar(
                    select(Case.code).where(Case.id == case.duplicate_of)
                )
            return OpenedCase(
                case.code,
                case.status,
                case.grade,
                payload,
                notes,
                original,
                events,
                verified_before(case.status, notes),
            )

    def attachment(self, uid: str) -> AttachmentReader:
        """Stream a file's plaintext chunk by chunk (nothing written to disk)."""
        from bot.reviewing.attachments import AttachmentReader

        return AttachmentReader(self, uid)

    async def readable(self) -> Iterator[tuple[Case, dict[str, Any]]]:
        """Every case this key can open, with its payload; others are skipped."""
        async with self._sessionmaker() as session:
            cases = list(
                await session.scalars(
                    select(Case).where(Case.payload.is_not(None)).order_by(Case.id)
                )
            )
            opened = []
            for case in cases:
                try:
                    opened.append((case, await self._open(session, case)))
                except CaseChanged:
                    raise  # never passed over as merely unreadable
                except (ReviewError, CryptoError):
                    continue
        self.vouch.flush()
        return iter(opened)

    async def each(
        self,
        *,
        statuses: tuple[CaseStatus, ...] = (),
        grades: tuple[str, ...] = (),
        since: datetime | None = None,
    ) -> AsyncIterator[tuple[Case, dict[str, Any] | None]]:
        """Matching cases one at a time, opened (None where this key cannot open it)."""
        async with self._sessionmaker() as session:
            query = select(Case.id).where(Case.payload.is_not(None)).order_by(Case.id)
            if statuses:
                query = query.where(Case.status.in_(statuses))
            if grades:
                query = query.where(Case.grade.in_(grades))
            if since is not None:
                query = query.where(Case.created_at >= since)
            ids = list(await session.scalars(query))
        for case_id in ids:
            async with self._sessionmaker() as session:
                case = await session.get(Case, case_id)
                if case is None:
                    continue
                try:
                    payload: dict[str, Any] | None = await self._open(session, case)
                except CaseChanged:
                    raise  # never passed over as merely unreadable
                except (ReviewError, CryptoError):
                    payload = None
            yield case, payload
        self.vouch.flush()
