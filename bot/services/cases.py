"""Cases: seal evidence as it arrives, seal the testimony on submit, status and withdrawal."""

from __future__ import annotations

import io
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db
from bot.case import SCHEMA_VERSION, CasePayload, Draft, FileRef, files_named_in
from bot.crypto import RecipientPublicKey, ServerKey
from bot.models import (
    Account,
    Attachment,
    AttachmentChunk,
    BlindIndex,
    Case,
    CaseStatus,
    FollowUp,
    Recipient,
    Role,
    SealedKey,
    utcnow,
)
from bot.sealing import Holder, drop_keys, of_case, seal_object
from bot.services import audit
from bot.services.accounts import Accounts
from bot.services.answers import fold_name
from bot.services.retention import shred_case
from bot.services.urgency import urgent_case

# No 0/O, 1/I/L, 5/S or 2/Z: a code read aloud over the phone survives.
CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"


class NoRecipients(Exception):
    """No active reviewer key: nothing can be sealed, so nothing may be accepted."""


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
    detainees: int
    attachments: int
    urgent: bool = False


@dataclass(frozen=True)
class CaseSummary:
    code: str
    status: CaseStatus
    created_at: datetime


class DailyLimit(Exception):
    """She has submitted the most testimonies for one day; her answers are kept."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


class FollowUpClosed(Exception):
    """The question was answered, withdrawn with its case, or never hers: nothing is kept."""


@dataclass(frozen=True)
class Withdrawn:
    code: str
    attachments: int
    keys: int


async def sync_recipients(
    sessionmaker: async_sessionmaker[AsyncSession], keys: list[RecipientPublicKey]
) -> int:
    """Add the recipients file's keys to the database; returns how many were new."""
    added = 0
    async with sessionmaker() as session, session.begin():
        known = set(await session.scalars(select(Recipient.key_id)))
        for key in keys:
            if key.key_id not in known:
                session.add(
                    Recipient(
                        key_id=key.key_id,
                        suite=key.suite,
                        public_key=key.public_bytes,
                        label=key.label,
                        active=True,
                    )
                )
                added += 1
    return added


async def _active_recipients(session: AsyncSession) -> list[Holder]:
    rows = await session.scalars(select(Recipient).where(Recipient.active.is_(True)))
    found = [
        Holder(RecipientPublicKey(row.suite, row.public_key, row.label), recipient_id=row.id)
        for row in rows
    ]
    if not found:
        raise NoRecipients("no active reviewer key")
    return found


class CaseStore:
    """Everything about cases that the bot may do: it seals, it can never open."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        accounts: Accounts,
        *,
        max_per_day: int = 5,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._accounts = accounts
        self.max_per_day = max_per_day
        # When each person submitted in the last day: counted in this process's memory
        # only, never stored (the account link is going away).
        self._submitted: dict[int, list[datetime]] = {}

    async def _account(self, session: AsyncSession, user_id: int) -> Account:
        return await self._accounts.get_or_create(session, user_id)

    async def seal_attachment(
        self,
        user_id: int,
        kind: str,
        data: bytes,
        *,
        case_id: int | None = None,
        followup_id: int | None = None,
    ) -> str:
        """Seal one file at once, chunk by chunk: of her draft, or (an answer to a follow-up
        question) of a submitted case. Returns its uid."""
        uid = secrets.token_hex(16)
        async with self._sessionmaker() as session, session.begin():
            account = await self._account(session, user_id)
            if followup_id is not None:
                await _still_open(session, account.id, case_id, followup_id)
            recipients = await _active_recipients(session)
            sealed = await seal_object(session, "attachment", uid, io.BytesIO(data), recipients)
            attachment = Attachment(
                uid=uid,
                account_id=None if case_id else account.id,
                case_id=case_id,
                followup_id=followup_id,
                kind=kind,
                size=0,
                sha256="",
                header=sealed.header,
            )
            session.add(attachment)
            await session.flush()
            for seq, chunk in enumerate(sealed):
                session.add(AttachmentChunk(attachment_id=attachment.id, seq=seq, data=chunk))
            attachment.size, attachment.sha256 = sealed.size, sealed.sha256
        return uid

    async def discard_draft_files(self, user_id: int, uids: list[str] | None = None) -> int:
        """Delete files of her unsent draft (all of them, or the given ones)."""
        async with self._sessionmaker() as session, session.begin():
            account = await self._account(session, user_id)
            query = select(Attachment.uid).where(
                Attachment.account_id == account.id, Attachment.case_id.is_(None)
            )
            if uids is not None:
                query = query.where(Attachment.uid.in_(uids))
            gone = list(await session.scalars(query))
            await session.execute(delete(Attachment).where(Attachment.uid.in_(gone)))
            await drop_keys(session, "attachment", gone)
        return len(gone)

    def _within_daily_limit(self, user_id: int) -> None:
        """Raise DailyLimit if she has submitted the most for one day already."""
        since = utcnow() - timedelta(days=1)
        recent = [moment for moment in self._submitted.get(user_id, []) if moment > since]
        self._submitted[user_id] = recent
        if len(recent) >= self.max_per_day:
            raise DailyLimit(len(recent))

    async def submit(self, user_id: int, chat_id: int, draft: Draft, locale: str) -> Submitted:
        """Seal the testimony to every active reviewer, attach her files, wipe nothing yet.
        Raises DailyLimit (nothing sealed) when she has sent the most for one day."""
        self._within_daily_limit(user_id)
        consent = draft["consent"]
        contact = consent.get("consent_contact") == "yes"
        subscribe = consent.get("subscribe") == "yes"
        async with self._sessionmaker() as session, session.begin():
            account = await self._account(session, user_id)
            recipients = await _active_recipients(session)
            staged = list(
                await session.scalars(
                    select(Attachment).where(
                        Attachment.account_id == account.id, Attachment.case_id.is_(None)
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
            case = await self._insert_case(session, account, uid, locale, draft, len(files))
            payload = CasePayload.from_draft(
                case.code, locale, draft, [FileRef.of(f) for f in files]
            ).to_json()
            plaintext = json.dumps(payload, ensure_ascii=False).encode()
            case.payload = await seal_object(session, "case", uid, plaintext, recipients)
            for attachment in files:
                attachment.case_id = case.id
                attachment.account_id = None
            for value in self._blind_indexes(draft):
                session.add(BlindIndex(case_id=case.id, value=value))
            account.subscribed = account.subscribed or subscribe
            if contact or account.subscribed:
                account.chat_ref = self._key.encrypt(str(chat_id).encode(), context="chat")
            case.urgent = urgent_case({"detainees": draft["detainees"]}, utcnow().date())
            done = Submitted(
                code=case.code,
                detainees=case.detainee_count,
                attachments=len(files),
                urgent=case.urgent,
            )
        self._submitted.setdefault(user_id, []).append(utcnow())
        return done

    async def _insert_case(
        self,
        session: AsyncSession,
        account: Account,
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
                account_id=account.id,
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

    def _blind_indexes(self, draft: Draft) -> set[str]:
        values = set()
        for person in draft["detainees"]:
            year = (
                (person.get("birth_year") or {})
                if isinstance(person.get("birth_year"), dict)
                else {}
            )
            for field in ("name", "name_alt"):
                name = person.get(field)
                if isinstance(name, str) and (folded := fold_name(name)):
                    values.add(self._key.blind_index(folded))
                    if year.get("year"):
                        values.add(self._key.blind_index(f"{folded}|{year['year']}"))
        return values

    async def staff_chats(self) -> list[int]:
        """Chats of reviewers and admins who should hear that a case arrived."""
        async with self._sessionmaker() as session:
            refs = await session.scalars(
                select(Account.chat_ref).where(
                    Account.role.in_([Role.REVIEWER, Role.ADMIN]), Account.chat_ref.is_not(None)
                )
            )
            return [int(self._key.decrypt(ref, context="chat")) for ref in refs if ref]

    async def mine(self, user_id: int) -> list[CaseSummary]:
        """Her cases, newest first."""
        async with self._sessionmaker() as session:
            account = await self._accounts.find_row(session, user_id)
            if account is None:
                return []
            rows = await session.scalars(
                select(Case).where(Case.account_id == account.id).order_by(Case.id.desc())
            )
            return [CaseSummary(row.code, row.status, row.created_at) for row in rows]

    async def status(self, user_id: int, code: str) -> CaseStatus | None:
        """The status of her case; None for a code that is unknown or not hers."""
        for case in await self.mine(user_id):
            if case.code == normalise_code(code):
                return case.status
        return None

    async def withdraw(self, user_id: int, code: str) -> Withdrawn | None:
        """Crypto-shred her case: wrapped keys, ciphertext, files go; the audit log says so."""
        code = normalise_code(code)
        async with self._sessionmaker() as session, session.begin():
            account = await self._accounts.find_row(session, user_id)
            if account is None:
                return None
            case = await session.scalar(
                select(Case).where(Case.code == code, Case.account_id == account.id)
            )
            if case is None or case.status == CaseStatus.WITHDRAWN:
                return None
            keys = await session.scalar(select(func.count(SealedKey.id)).where(of_case(case.id)))
            key_count = int(keys or 0)
            files = await shred_case(session, case, CaseStatus.WITHDRAWN)
            # Her chat id was kept for this case's questions and notices: it goes unless she
            # subscribed to news or another case of hers still may be asked about.
            still_asked = await session.scalar(
                select(Case.id).where(
                    Case.account_id == account.id,
                    Case.consent_contact.is_(True),
                    Case.status != CaseStatus.WITHDRAWN,
                )
            )
            if not account.subscribed and still_asked is None and account.role == Role.RELATIVE:
                account.chat_ref = None
            await audit.record(
                session,
                actor=audit.RELATIVE,
                action="case.withdrawn",
                target=code,
                detail={"attachments": files, "keys": key_count},
            )
        await db.wipe_traces(self._sessionmaker.kw["bind"])
        return Withdrawn(code=code, attachments=files, keys=key_count)


async def _still_open(
    session: AsyncSession, account_id: int, case_id: int | None, followup_id: int
) -> None:
    """An answer is kept only while its question is open and its case not withdrawn."""
    found = await session.scalar(
        select(FollowUp.id)
        .join(Case, Case.id == FollowUp.case_id)
        .where(
            FollowUp.id == followup_id,
            FollowUp.case_id == case_id,
            FollowUp.state == "sent",
            Case.account_id == account_id,
            Case.status != CaseStatus.WITHDRAWN,
        )
    )
    if found is None:
        raise FollowUpClosed(followup_id)
