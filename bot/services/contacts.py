"""A relative's contact: her chat id and language, sealed beside her case (`cases.contact`,
kind `contact`) to the case's reviewers, if she agreed to be contacted.

It is never part of the case record, never shown and never exported: reviewer tools open it
only to seal a question or notice to the bot's delivery key (bot/reviewing/contact.py). The
server cannot open it. `seal_earlier_contacts` is the one-time step for what was kept the old
way (her chat id on her account, server-encrypted; messages queued under the server key).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db
from bot.crypto import CryptoError, RecipientPublicKey, ServerKey
from bot.earlier_links import EarlierLink
from bot.models import (
    Account,
    Case,
    CaseStatus,
    Delivery,
    DeliveryState,
    FollowUp,
    Notice,
    Recipient,
    SealedKey,
)
from bot.sealing import Holder, seal_object
from bot.services.delivery import NOTICE, QUESTION
from bot.services.delivery_keys import DeliveryKeys
from bot.services.followups import new_token, token_hash
from bot.states import FollowUpState, NoticeState

log = logging.getLogger(__name__)

CONTACT = "contact"
OPEN = (DeliveryState.PENDING, DeliveryState.SENDING)


def contact_json(chat_id: int, locale: str) -> bytes:
    return json.dumps({"chat": int(chat_id), "locale": locale}).encode()


async def seal_contact(
    session: AsyncSession, case_uid: str, chat_id: int, locale: str, holders: list[Holder]
) -> bytes:
    """Her contact, sealed to the case's holders under the case's uid (kind `contact`)."""
    return await seal_object(session, CONTACT, case_uid, contact_json(chat_id, locale), holders)


async def _case_holders(session: AsyncSession, case: Case) -> list[Holder]:
    """The reviewer keys the case's payload is sealed to."""
    rows = await session.scalars(
        select(Recipient)
        .join(SealedKey, SealedKey.recipient_id == Recipient.id)
        .where(SealedKey.kind == "case", SealedKey.object_uid == case.uid)
    )
    return [
        Holder(RecipientPublicKey(row.suite, row.public_key, row.label), recipient_id=row.id)
        for row in rows
    ]


@dataclass(frozen=True)
class Moved:
    contacts: int = 0
    deliveries: int = 0
    failed: int = 0


class _Step:
    """One pass over what was kept the old way, in one transaction."""

    def __init__(
        self,
        session: AsyncSession,
        key: ServerKey,
        keys: DeliveryKeys,
        listed: frozenset[int] | None = None,
    ) -> None:
        self.session = session
        self.key = key
        self.keys = keys
        # The recipient rows of the verified roster: no other row is sealed to.
        self.listed = listed
        self.contacts = self.deliveries = self.failed = 0

    def _chat(self, chat_ref: bytes | None) -> int | None:
        if chat_ref is None:
            return None
        try:
            return int(self.key.decrypt(chat_ref, context="chat"))
        except (CryptoError, ValueError):
            return None

    async def contacts_of_cases(self) -> None:
        rows = await self.session.execute(
            select(Case, Account.chat_ref, Account.locale)
            .join(EarlierLink, EarlierLink.case_id == Case.id)
            .join(Account, Account.id == EarlierLink.account_id)
            .where(
                Case.consent_contact.is_(True),
                Case.contact.is_(None),
                Case.payload.is_not(None),
                Case.status != CaseStatus.WITHDRAWN,
                Account.chat_ref.is_not(None),
            )
        )
        for case, chat_ref, locale in rows:
            chat, holders = self._chat(chat_ref), await _case_holders(self.session, case)
            if self.listed is not None:
                holders = [h for h in holders if h.recipient_id in self.listed]
            if chat is None or not holders:
                continue
            case.contact = await seal_contact(
                self.session, case.uid, chat, locale or case.locale, holders
            )
            self.contacts += 1

    async def _seal(
        self, kind: str, subject: Notice | FollowUp, chat: int, locale: str, message: dict
    ) -> Delivery:
        """A message the bot held, sealed to its own delivery key like a reviewer's."""
        content = {"chat": chat, "locale": locale, **message}
        if isinstance(subject, FollowUp):
            token = new_token()
            subject.token_hash = token_hash(token)
            content["token"] = token
        uid = secrets.token_hex(16)
        sealed = await self.keys.seal(self.session, uid, json.dumps(content).encode())
        self.deliveries += 1
        return Delivery(
            kind=kind,
            subject_id=subject.id,
            case_id=subject.case_id,
            uid=uid,
            sealed=sealed,
            locale="",
            state=DeliveryState.PENDING,
            attempts=0,
        )

    async def queued_deliveries(self) -> None:
        """Notices and questions waiting in the outbox under the server key, to an account."""
        rows = await self.session.execute(
            select(Delivery, Account.chat_ref)
            .outerjoin(Account, Account.id == Delivery.account_id)
            .where(
                Delivery.kind.in_([NOTICE, QUESTION]),
                Delivery.uid.is_(None),
                Delivery.state.in_(OPEN),
            )
        )
        for row, chat_ref in list(rows):
            subject: Notice | FollowUp | None = (
                await self.session.get(Notice, row.subject_id)
                if row.kind == NOTICE
                else await self.session.get(FollowUp, row.subject_id)
            )
            message: dict[str, Any] = {}
            with contextlib.suppress(CryptoError, ValueError):  # unreadable: it fails below
                message = json.loads(self.key.decrypt(row.sealed or b"", context="delivery"))
            chat = message.pop("chat", None) or self._chat(chat_ref)
            await self.session.delete(row)
            if subject is None:
                continue
            if chat is None or "code" not in message:
                self._fail(subject)
                continue
            self.session.add(await self._seal(row.kind, subject, int(chat), row.locale, message))

    def _fail(self, subject: Notice | FollowUp) -> None:
        """Cannot reach her any more: the reviewers see it failed (and may ask again)."""
        if isinstance(subject, FollowUp):
            subject.state, subject.token_hash = FollowUpState.FAILED, None
        else:
            subject.state = NoticeState.FAILED
        self.failed += 1

    async def unstaged(self) -> None:
        """Notices never handed to the outbox go out sealed; questions sealed to the bot's old
        inbox key fail (the bot no longer opens that key: reviewers ask again)."""
        handed = exists().where(and_(Delivery.subject_id == Notice.id, Delivery.kind == NOTICE))
        notices = await self.session.execute(
            select(Notice, Case, Account.chat_ref, Account.locale)
            .join(Case, Case.id == Notice.case_id)
            .outerjoin(EarlierLink, EarlierLink.case_id == Case.id)
            .outerjoin(Account, Account.id == EarlierLink.account_id)
            .where(Notice.state == NoticeState.PENDING, ~handed)
        )
        for notice, case, chat_ref, locale in list(notices):
            chat = self._chat(chat_ref) if case.consent_contact else None
            if chat is None:
                self._fail(notice)
                continue
            message = {"code": case.code, "status": notice.status.value}
            self.session.add(await self._seal(NOTICE, notice, chat, locale or case.locale, message))
        asked = exists().where(and_(Delivery.subject_id == FollowUp.id, Delivery.kind == QUESTION))
        for followup in list(
            await self.session.scalars(
                select(FollowUp).where(FollowUp.state == FollowUpState.QUEUED, ~asked)
            )
        ):
            self._fail(followup)
        # The old inbox key's copies of questions: nothing opens them any more.
        await self.session.execute(
            delete(SealedKey).where(
                SealedKey.kind == QUESTION, SealedKey.delivery_key_id.is_not(None)
            )
        )


async def seal_earlier_contacts(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: ServerKey,
    keys: DeliveryKeys,
    listed: frozenset[int] | None = None,
    links_done: bool = False,
) -> Moved:
    """The one-time step after revision 0013 (run at every start; it finds nothing once done):
    a consenting case whose relative's chat id was kept on her account gets its sealed
    contact; notices and questions waiting under the server key are sealed to the bot's
    delivery key (a question gets its answer token). The account's chat id itself stays
    until the receipts step that drops the account link has used it."""
    async with sessionmaker() as session, session.begin():
        step = _Step(session, key, keys, listed)
        if not links_done:  # once only: later links were written by someone else
            await step.contacts_of_cases()
        await step.queued_deliveries()
        await step.unstaged()
    moved = Moved(step.contacts, step.deliveries, step.failed)
    if moved != Moved():
        log.info(
            "sealed %d earlier contacts, %d waiting messages; %d could not be moved (failed)",
            moved.contacts,
            moved.deliveries,
            moved.failed,
        )
        await db.wipe_traces(sessionmaker.kw["bind"])
    return moved
