"""The reviewer's side: open sealed cases with her own key, decide, find duplicates.

This runs on the reviewer's machine against the same database; plaintext exists only in
this process's memory. Every decision is written to the audit log (who = the key id).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import (
    CryptoError,
    RecipientPublicKey,
    StreamOpener,
    normalise_fingerprint,
    open_sealed,
    seal,
)
from bot.models import (
    Attachment,
    AttachmentChunk,
    BlindIndex,
    Case,
    CaseKey,
    CaseNote,
    CaseStatus,
    FollowUp,
    Notice,
    Recipient,
    Setting,
)
from bot.reviewing.keys import ReviewerKey
from bot.services import audit
from bot.services.answers import fold_name

if TYPE_CHECKING:
    from bot.reviewing.un import Readiness

GRADES = ("reported", "partially_verified", "corroborated", "documented")
# A relative who agreed to contact hears of these changes (code and status only).
TOLD = (CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)
SIMILAR = 90  # rapidfuzz token-sort ratio over folded names


class ReviewError(Exception):
    """A case can't be found or opened, or a decision is not allowed."""


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


@dataclass
class OpenedCase:
    code: str
    status: CaseStatus
    grade: str
    payload: dict[str, Any]
    notes: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of: str | None = None


def names_of(payload: dict[str, Any]) -> list[str]:
    """Every written name of every detainee in a case."""
    found = []
    for person in payload.get("detainees", []):
        for key in ("name", "name_alt"):
            if isinstance(person.get(key), str):
                found.append(person[key])
    return found


class Reviewer:
    """Everything a reviewer does, with her key unlocked in memory."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key: ReviewerKey,
        *,
        inbox_fingerprint: str | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.key = key
        # The bot's inbox key as the reviewer pinned it (AIGAQ_INBOX_FINGERPRINT); questions
        # are sealed to no other, whatever the database says.
        self._inbox_pin = normalise_fingerprint(inbox_fingerprint) if inbox_fingerprint else None

    async def _recipient_id(self, session: AsyncSession) -> int | None:
        return await session.scalar(select(Recipient.id).where(Recipient.key_id == self.key.key_id))

    async def queue(self, status: CaseStatus | None = None) -> list[QueueItem]:
        async with self._sessionmaker() as session:
            query = select(Case).order_by(Case.id)
            if status is not None:
                query = query.where(Case.status == status)
            rows = list(await session.scalars(query))
            shared = await self._shared_indexes(session)
        return [
            QueueItem(
                row.code,
                row.created_at,
                row.locale,
                row.detainee_count,
                row.attachment_count,
                row.status,
                row.grade,
                row.duplicate_of is not None or row.id in shared,
                row.urgent,
            )
            for row in rows
        ]

    async def _shared_indexes(self, session: AsyncSession) -> set[int]:
        groups: dict[str, set[int]] = defaultdict(set)
        for case_id, value in await session.execute(select(BlindIndex.case_id, BlindIndex.value)):
            groups[value].add(case_id)
        return {case_id for ids in groups.values() if len(ids) > 1 for case_id in ids}

    async def _case(self, session: AsyncSession, code: str) -> Case:
        case = await session.scalar(select(Case).where(Case.code == code.upper()))
        if case is None:
            raise ReviewError(f"no case {code}")
        return case

    async def _open(self, session: AsyncSession, case: Case) -> dict[str, Any]:
        if case.payload is None:
            raise ReviewError(f"case {case.code} was {case.status.value}: nothing is left")
        recipient = await self._recipient_id(session)
        wrapped = await session.scalar(
            select(CaseKey.wrapped_key).where(
                CaseKey.case_id == case.id, CaseKey.recipient_id == recipient
            )
        )
        if wrapped is None:
            raise ReviewError(f"case {case.code} was not sealed to key {self.key.key_id}")
        plain = open_sealed(case.payload, wrapped, self.key, object_id=case.uid, kind="case")
        return dict(json.loads(plain))

    async def show(self, code: str) -> OpenedCase:
        async with self._sessionmaker() as session:
            case = await self._case(session, code)
            payload = await self._open(session, case)
            notes = []
            for note in await session.scalars(
                select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
            ):
                text = ""
                wrapped = json.loads(note.wrapped_keys).get(self.key.key_id)
                if note.sealed_note and wrapped:
                    text = open_sealed(
                        note.sealed_note,
                        base64.b64decode(wrapped),
                        self.key,
                        object_id=note.uid,
                        kind="note",
                    ).decode()
                notes.append(
                    {
                        "at": note.created_at.isoformat(),
                        "reviewer": note.reviewer,
                        "status": note.status,
                        "grade": note.grade,
                        "note": text,
                    }
                )
            original = None
            if case.duplicate_of is not None:
                original = await session.scalar(
                    select(Case.code).where(Case.id == case.duplicate_of)
                )
            return OpenedCase(case.code, case.status, case.grade, payload, notes, original)

    def attachment(self, uid: str) -> AttachmentReader:
        """Stream a file's plaintext chunk by chunk (nothing written to disk)."""
        return AttachmentReader(self, uid)

    async def set_status(
        self, code: str, status: CaseStatus, *, grade: str | None = None, note: str = ""
    ) -> None:
        """Decide; the note is sealed like testimony; the relative may be told."""
        if status == CaseStatus.WITHDRAWN:
            raise ReviewError("only the relative can withdraw a case")
        if grade is not None and grade not in GRADES:
            raise ReviewError(f"the grade is one of {', '.join(GRADES)}")
        async with self._sessionmaker() as session, session.begin():
            case = await self._case(session, code)
            if case.status == CaseStatus.WITHDRAWN:
                raise ReviewError(f"case {code} was withdrawn")
            case.status = status
            case.grade = grade or case.grade
            uid = secrets.token_hex(16)
            sealed_note, wrapped = None, {}
            if note:
                keys = [
                    RecipientPublicKey(suite=r.suite, public_bytes=r.public_key)
                    for r in await session.scalars(
                        select(Recipient).where(Recipient.active.is_(True))
                    )
                ]
                sealed = seal(note.encode(), keys, object_id=uid, kind="note")
                sealed_note = sealed.ciphertext
                wrapped = {k: base64.b64encode(v).decode() for k, v in sealed.wrapped_keys.items()}
            session.add(
                CaseNote(
                    case_id=case.id,
                    uid=uid,
                    reviewer=self.key.key_id,
                    status=status.value,
                    grade=case.grade,
                    sealed_note=sealed_note,
                    wrapped_keys=json.dumps(wrapped),
                )
            )
            if status in TOLD and case.consent_contact:
                session.add(Notice(case_id=case.id, status=status.value))
            await audit.record(
                session,
                actor=self.key.key_id,
                action="case.status",
                target=case.code,
                detail={"status": status.value, "grade": case.grade},
            )

    async def ask(self, code: str, question: str, *, elements: tuple[str, ...] = ()) -> None:
        """Queue a follow-up question; only where she agreed to be contacted."""
        question = question.strip()
        if not question:
            raise ReviewError("the question is empty")
        async with self._sessionmaker() as session, session.begin():
            case = await self._case(session, code)
            if case.status == CaseStatus.WITHDRAWN or not case.consent_contact:
                raise ReviewError(
                    f"case {case.code}: the relative did not agree to follow-up questions"
                )
            inbox = await self._pinned_inbox(session)
            keys = [inbox] + [
                RecipientPublicKey(suite=r.suite, public_bytes=r.public_key)
                for r in await session.scalars(select(Recipient).where(Recipient.active.is_(True)))
            ]
            uid = secrets.token_hex(16)
            sealed = seal(question.encode(), keys, object_id=uid, kind="question")
            session.add(
                FollowUp(
                    case_id=case.id,
                    uid=uid,
                    asked_by=self.key.key_id,
                    elements=",".join(elements),
                    sealed_question=sealed.ciphertext,
                    wrapped_keys=json.dumps(
                        {k: base64.b64encode(v).decode() for k, v in sealed.wrapped_keys.items()}
                    ),
                )
            )
            case.status = CaseStatus.NEEDS_INFO
            await audit.record(
                session, actor=self.key.key_id, action="followup.asked", target=case.code
            )

    async def _pinned_inbox(self, session: AsyncSession) -> RecipientPublicKey:
        """The bot's inbox key from the database, if it is the one this reviewer pinned."""
        if self._inbox_pin is None:
            raise ReviewError(
                "no pinned inbox key: set AIGAQ_INBOX_FINGERPRINT to the fingerprint that "
                "`aigaq keys inbox` prints on the bot's server (compare it in person or by a "
                "channel you trust)"
            )
        row = await session.get(Setting, "inbox_public")
        if row is None:
            raise ReviewError("the bot has not published its inbox key yet (start it once)")
        try:
            inbox = RecipientPublicKey.from_line(row.value)
        except CryptoError:
            inbox = None
        if inbox is None or inbox.fingerprint != self._inbox_pin:
            await self._inbox_refused(inbox.fingerprint if inbox else "unreadable")
            raise ReviewError(
                "the bot's inbox key in the database is not the one you pinned "
                f"(database {inbox.fingerprint if inbox else 'unreadable'}, pinned "
                f"{self._inbox_pin}); no question was sealed to it. If the server key was "
                "rotated, ask for the new fingerprint (`aigaq keys inbox` on the server); "
                "otherwise someone changed the database"
            )
        return inbox

    async def _inbox_refused(self, found: str) -> None:
        """Leave a trace in the audit log, apart from the refused question's transaction."""
        async with self._sessionmaker() as session, session.begin():
            await audit.record(
                session,
                actor=self.key.key_id,
                action="followup.inbox_refused",
                target=None,
                detail={"found": found[:16], "pinned": (self._inbox_pin or "")[:16]},
            )

    async def ready_for_wgeid(self) -> set[str]:
        """Codes of cases where every person has all six elements (decrypted here)."""
        ready = set()
        for case, _payload in await self.readable():
            items, _texts = await self.readiness(case.code)
            if items and all(item.ready for item in items):
                ready.add(case.code)
        return ready

    async def ask_missing(self, code: str, person: int = 1) -> list[str]:
        """One follow-up question, in her language, for the elements a person still lacks."""
        from bot.reviewing.un import missing_question, readiness

        opened = await self.show(code)
        items = readiness(opened.payload)
        if not 1 <= person <= len(items):
            raise ReviewError(f"case {code} has {len(items)} detained person(s)")
        missing = items[person - 1].missing
        if not missing:
            return []
        locale = str(opened.payload.get("locale") or "kk")
        question = missing_question(locale, missing, person, len(items))
        await self.ask(code, question, elements=tuple(missing))
        return missing

    async def readiness(self, code: str) -> tuple[list[Readiness], list[str]]:
        """The six elements per person — an element she answered in a follow-up counts as
        given — and the text of her written answers, for the draft."""
        from bot.reviewing.un import PRESENT, readiness

        opened = await self.show(code)
        items = readiness(opened.payload)
        answered: set[str] = set()
        texts = []
        async with self._sessionmaker() as session:
            case = await self._case(session, code)
            followups = list(
                await session.scalars(
                    select(FollowUp).where(
                        FollowUp.case_id == case.id, FollowUp.state == "answered"
                    )
                )
            )
            answers = (
                list(
                    await session.execute(
                        select(Attachment.uid, Attachment.kind).where(
                            Attachment.followup_id.in_([f.id for f in followups])
                        )
                    )
                )
                if followups
                else []
            )
        for followup in followups:
            answered.update(filter(None, followup.elements.split(",")))
        for uid, kind in answers:
            if kind == "text":
                texts.append((await self.attachment(uid).read()).decode())
        for item in items:
            for name in answered & set(item.elements):
                item.elements[name] = PRESENT
        return items, texts

    async def followups(self, code: str) -> list[dict[str, Any]]:
        """Questions asked about a case, and her answers (attachment uids and kinds)."""
        async with self._sessionmaker() as session:
            case = await self._case(session, code)
            found = []
            for followup in await session.scalars(
                select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)
            ):
                wrapped = json.loads(followup.wrapped_keys).get(self.key.key_id)
                question = ""
                if wrapped:
                    question = open_sealed(
                        followup.sealed_question,
                        base64.b64decode(wrapped),
                        self.key,
                        object_id=followup.uid,
                        kind="question",
                    ).decode()
                answers = [
                    {"uid": uid, "kind": kind}
                    for uid, kind in await session.execute(
                        select(Attachment.uid, Attachment.kind)
                        .where(Attachment.followup_id == followup.id)
                        .order_by(Attachment.id)
                    )
                ]
                found.append(
                    {
                        "question": question,
                        "state": followup.state,
                        "asked_at": followup.created_at.isoformat(),
                        "answers": answers,
                    }
                )
            return found

    async def link(self, code: str, original: str) -> None:
        """Mark a case as a duplicate of another; both testimonies are kept."""
        async with self._sessionmaker() as session, session.begin():
            case = await self._case(session, code)
            first = await self._case(session, original)
            if case.id == first.id:
                raise ReviewError("a case cannot duplicate itself")
            case.duplicate_of = first.id
            await audit.record(
                session,
                actor=self.key.key_id,
                action="case.duplicate",
                target=case.code,
                detail={"of": first.code},
            )

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
                except (ReviewError, CryptoError):
                    continue
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
                except (ReviewError, CryptoError):
                    payload = None
            yield case, payload

    async def search(self, name: str) -> list[str]:
        """Codes of cases naming someone like this, in any script (decrypted here)."""
        wanted = fold_name(name)
        return [
            case.code
            for case, payload in await self.readable()
            if any(
                fuzz.token_sort_ratio(wanted, fold_name(n)) >= SIMILAR for n in names_of(payload)
            )
        ]

    async def duplicates(self) -> list[tuple[str, str, str]]:
        """Pairs (code, code, why): the same blind index, or close names with the same birth
        year and hometown, across Cyrillic, Latin, Chinese and Arabic spellings."""
        pairs: dict[tuple[str, str], str] = {}
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(BlindIndex.value, Case.code).join(Case, Case.id == BlindIndex.case_id)
            )
            by_value: dict[str, set[str]] = defaultdict(set)
            for value, code in rows:
                by_value[value].add(code)
        for codes in by_value.values():
            ordered = sorted(codes)
            for i, first in enumerate(ordered):
                for second in ordered[i + 1 :]:
                    pairs[(first, second)] = "same name"
        people = []
        for case, payload in await self.readable():
            for person in payload.get("detainees", []):
                year = (
                    (person.get("birth_year") or {})
                    if isinstance(person.get("birth_year"), dict)
                    else {}
                )
                for name in names_of({"detainees": [person]}):
                    people.append(
                        (case.code, fold_name(name), year.get("year"), person.get("hometown"))
                    )
        for i, (code, name, year, town) in enumerate(people):
            for other, other_name, other_year, other_town in people[i + 1 :]:
                if code == other or (min(code, other), max(code, other)) in pairs:
                    continue
                if (
                    year == other_year
                    and town == other_town
                    and fuzz.token_sort_ratio(name, other_name) >= SIMILAR
                ):
                    pairs[(min(code, other), max(code, other))] = "similar name"
        return [(a, b, why) for (a, b), why in sorted(pairs.items())]


class AttachmentReader:
    """Plaintext of one attachment, opened chunk by chunk as it is read."""

    def __init__(self, reviewer: Reviewer, uid: str) -> None:
        self._reviewer = reviewer
        self.uid = uid

    async def meta(self) -> Attachment:
        async with self._reviewer._sessionmaker() as session:
            found = await session.scalar(select(Attachment).where(Attachment.uid == self.uid))
        if found is None:
            raise ReviewError(f"no attachment {self.uid}")
        return found

    async def stream(self, batch: int = 16) -> AsyncIterator[bytes]:
        """The plaintext, 64 KiB at a time, read from the database `batch` chunks at once."""
        attachment = await self.meta()
        async with self._reviewer._sessionmaker() as session:
            recipient = await self._reviewer._recipient_id(session)
            wrapped = await session.scalar(
                select(CaseKey.wrapped_key).where(
                    CaseKey.attachment_id == attachment.id, CaseKey.recipient_id == recipient
                )
            )
        if wrapped is None:
            raise ReviewError(f"attachment {self.uid} was not sealed to this key")
        opener = StreamOpener(
            attachment.header, wrapped, self._reviewer.key, object_id=self.uid, kind="attachment"
        )
        seq = 0
        while True:
            async with self._reviewer._sessionmaker() as session:
                sealed = list(
                    await session.scalars(
                        select(AttachmentChunk.data)
                        .where(
                            AttachmentChunk.attachment_id == attachment.id,
                            AttachmentChunk.seq >= seq,
                        )
                        .order_by(AttachmentChunk.seq)
                        .limit(batch)
                    )
                )
            if not sealed:
                break
            for chunk in sealed:
                yield opener.feed(chunk)
            seq += len(sealed)
        opener.close()

    async def read(self) -> bytes:
        """The whole plaintext (for small files and tests)."""
        return b"".join([part async for part in self.stream()])
