"""Cases: seal evidence as it arrives, seal the testimony on submit, status and withdrawal."""

from __future__ import annotations

import io
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.case import SCHEMA_VERSION, Draft, files_named_in, files_of_draft
from bot.crypto import ServerKey
from bot.crypto.intake import IntakeSigner
from bot.draft_write import DirectFile, one_handoff_available
from bot.file_record import KIND as FILE_RECORD
from bot.file_record import FileRecord, Origin
from bot.models import (
    Account,
    Attachment,
    AttachmentChunk,
    Case,
    CaseStatus,
    FollowUp,
    Role,
    utcnow,
)
from bot.sealing import drop_keys, seal_object
from bot.services import audit
from bot.services.accounts import Accounts
from bot.services.contacts import seal_contact
from bot.services.manifest import seal_manifest, urgent_draft
from bot.services.receipts import new_receipt, receipt_hash
from bot.services.team import TeamRoster

# The audit action that anchors each submitted case's manifest.
SUBMITTED = "case.submitted"

# No 0/O, 1/I/L, 5/S or 2/Z: a code read aloud over the phone survives.
CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"


def new_code() -> str:
    """A case code like K7QF-M2XD."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(text: str) -> str:
    """What she typed, as a code: case and spacing forgiven, dash optional."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else raw


@dataclass(frozen=True)
class Submitted:
    code: str
    # Shown to her once, never stored: the server keeps only its SHA-256.
    receipt: str
    detainees: int
    attachments: int
    urgent: bool = False


class DailyLimit(Exception):
    """She has submitted the most testimonies for one day; her answers are kept."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


class FollowUpClosed(Exception):
    """The question was answered, withdrawn with its case, or never hers: nothing is kept."""


class CaseStore:
    """Everything about cases that the bot may do: it seals, it can never open."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        accounts: Accounts,
        *,
        team: TeamRoster,
        max_per_day: int = 5,
        intake_signer: IntakeSigner | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = sessionmaker.kw["bind"]
        # On SQLite a draft's file is written on the driver's connection (bot/draft_write.py).
        dialect = self._engine.dialect
        direct = dialect.name == "sqlite" and one_handoff_available()
        self._direct = DirectFile(dialect) if direct else None
        # The verified roster's reviewer keys, in memory: never the database's rows.
        self._team = team
        # Signs each case's manifest (bot/services/manifest.py); the bot's wiring gives it.
        self._signer = intake_signer
        self._key = server_key
        self._accounts = accounts
        self.max_per_day = max_per_day
        # When each person submitted in the last day: counted in this process's memory
        # only, never stored (the account link is going away).
        self._submitted: dict[int, list[datetime]] = {}

    @property
    def signer(self) -> IntakeSigner:
        """The bot's intake key: it signs manifests and binds receipts to their cases."""
        if self._signer is None:
            raise RuntimeError("no intake signing key")
        return self._signer

    @property
    def intake_fingerprint(self) -> str | None:
        """What reviewers pin of the key that signs each case's manifest."""
        return self._signer.fingerprint if self._signer else None

    async def seal_attachment(
        self,
        kind: str,
        data: bytes,
        *,
        case_id: int | None = None,
        followup_id: int | None = None,
        mime: str | None = None,
        name: str | None = None,
        origin: Origin | None = None,
    ) -> str:
        """Seal one file at once, chunk by chunk: of her draft, or (an answer to a follow-up
        question) of a submitted case; its SHA-256, size, MIME type, name and provenance
        (`origin`) are sealed beside it (bot/file_record.py), never kept in the clear. A
        draft's file names no one: her draft names it (`files`), never her account. Returns
        its uid."""
        if self._direct is not None and followup_id is None:
            holders = self._team.holders()
            return await self._direct.seal(
                self._engine,
                kind,
                data,
                holders,
                case_id=case_id,
                mime=mime,
                name=name,
                origin=origin,
            )
        uid = secrets.token_hex(16)
        async with self._sessionmaker() as session, session.begin():
            if followup_id is not None:
                await _still_open(session, case_id, followup_id)
            recipients = self._team.holders()
            sealed = await seal_object(session, "attachment", uid, io.BytesIO(data), recipients)
            attachment = Attachment(
                uid=uid,
                case_id=case_id,
                followup_id=followup_id,
                kind=kind,
                header=sealed.header,
            )
            session.add(attachment)
            await session.flush()
            for seq, chunk in enumerate(sealed):
                session.add(AttachmentChunk(attachment_id=attachment.id, seq=seq, data=chunk))
            record = FileRecord.received(
                kind,
                sha256=sealed.sha256,
                size=sealed.size,
                mime=mime,
                name=name,
                follow_up=followup_id is not None,
                origin=origin,
            )
            attachment.record = await seal_object(
                session, FILE_RECORD, uid, record.to_bytes(), recipients
            )
        return uid

    async def discard_draft_files(self, uids: Collection[str]) -> int:
        """Delete these files of an unsent draft (never a submitted case's)."""
        if not uids:
            return 0
        async with self._sessionmaker() as session, session.begin():
            gone = list(
                await session.scalars(
                    select(Attachment.uid).where(
                        Attachment.uid.in_(list(uids)),
                        Attachment.case_id.is_(None),
                        Attachment.followup_id.is_(None),
                    )
                )
            )
            await session.execute(delete(Attachment).where(Attachment.uid.in_(gone)))
            await drop_keys(session, "attachment", gone)
        return len(gone)

    def _within_daily_limit(self, user_id: int) -> None:
        """Raise DailyLimit if she has submitted the most for one day already."""
        since = utcnow() - timedelta(days=1)
        # Everyone's older moments go, not only hers: memory keeps a day of submits, no more.
        self._submitted = {
            user: kept
            for user, moments in self._submitted.items()
            if (kept := [moment for moment in moments if moment > since])
        }
        recent = self._submitted.get(user_id, [])
        if len(recent) >= self.max_per_day:
            raise DailyLimit(len(recent))

    async def submit(self, user_id: int, chat_id: int, draft: Draft, locale: str) -> Submitted:
        """Seal the testimony to every active reviewer, attach her files, wipe nothing yet.
        Raises DailyLimit (nothing sealed) when she has sent the most for one day. Her
        account is not touched: nothing in this transaction says whose case it is (her
        subscription to news, if she asked, is the handler's separate step)."""
        self._within_daily_limit(user_id)
        contact = draft["consent"].get("consent_contact") == "yes"
        sent = files_of_draft(draft)
        async with self._sessionmaker() as session, session.begin():
            recipients = self._team.holders()
            staged = list(
                await session.scalars(
                    select(Attachment).where(
                        Attachment.uid.in_(list(sent)),
                        Attachment.case_id.is_(None),
                        Attachment.followup_id.is_(None),
                    )
                )
            )
            # A voice answer she replaced, skipped or went back over is no part of her case.
            wanted = files_named_in(draft)
            files = [f for f in staged if f.uid in wanted]
            unwanted = [f.uid for f in staged if f.uid not in wanted]
            if unwanted:
                await drop_keys(session, "attachment", unwanted)
                await session.execute(delete(Attachment).where(Attachment.uid.in_(unwanted)))
            uid = secrets.token_hex(16)
            case = await self._insert_case(session, uid, locale, draft, len(files))
            if self._signer is None:
                raise RuntimeError("no intake signing key: the case's manifest can't be signed")
            case.payload = await seal_manifest(
                session, self._signer, case, locale, draft, files, recipients
            )
            for attachment in files:
                attachment.case_id = case.id
            if contact:  # questions and notices: her chat id sealed beside the case only
                case.contact = await seal_contact(session, uid, chat_id, locale, recipients)
            case.urgent = urgent_draft(draft, utcnow().date())
            # The signed manifest's ciphertext anchored in the log: reviewer tools check a
            # case against it, so one swapped in the database shows (actor "relative").
            await audit.record(
                session,
                actor=audit.RELATIVE,
                action=SUBMITTED,
                target=case.code,
                detail={"manifest": (digest := audit.anchor(case.payload))}
                | self._signer.sign_anchor("case", case.uid, case.code, digest),
            )
            receipt = new_receipt()
            case.receipt_hash = receipt_hash(receipt)
            case.receipt_sig = self._signer.bind_receipt(case.uid, case.code, case.receipt_hash)
            done = Submitted(
                code=case.code,
                receipt=receipt,
                detainees=case.detainee_count,
                attachments=len(files),
                urgent=case.urgent,
            )
        self._submitted.setdefault(user_id, []).append(utcnow())
        return done

    async def _insert_case(
        self,
        session: AsyncSession,
        uid: str,
        locale: str,
        draft: Draft,
        attachments: int,
    ) -> Case:
        consent = draft["consent"]
        for _attempt in range(10):
            case = Case(
                uid=uid,
                code=new_code(),
                status=CaseStatus.RECEIVED,
                locale=locale,
                schema_version=SCHEMA_VERSION,
                detainee_count=len(draft["detainees"]),
                attachment_count=attachments,
                consent_contact=consent.get("consent_contact") == "yes",
                consent_sharing=str(consent.get("consent_sharing") or "team"),
            )
            try:
                async with session.begin_nested():
                    session.add(case)
                return case
            except IntegrityError:
                continue
        raise RuntimeError("could not find a free case code")

    async def staff_chats(self) -> list[int]:
        """Chats of reviewers and admins who should hear that a case arrived."""
        async with self._sessionmaker() as session:
            refs = await session.scalars(
                select(Account.chat_ref).where(
                    Account.role.in_([Role.REVIEWER, Role.ADMIN]), Account.chat_ref.is_not(None)
                )
            )
            return [int(self._key.decrypt(ref, context="chat")) for ref in refs if ref]


async def _still_open(session: AsyncSession, case_id: int | None, followup_id: int) -> None:
    """An answer is kept only while its question is open (its answer token alive: she found
    it by that token) and its case not withdrawn."""
    found = await session.scalar(
        select(FollowUp.id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            FollowUp.id == followup_id,
            FollowUp.case_id == case_id,
            FollowUp.state == "sent",
            FollowUp.token_hash.is_not(None),
            Case.status != CaseStatus.WITHDRAWN,
        )
    )
    if found is None:
        raise FollowUpClosed(followup_id)
