"""The one-time step after revision 0014: cases filed before receipts get one.

Until then a case was hers through a link between her account and the case; the migration
moved the links of cases not withdrawn into `earlier_links`. At the next start, each case
whose relative the bot can still reach (her chat id was kept on her account, for news or, the
old way, for follow-up questions) gets a receipt code, sent to her once in a message whose
text waits in the outbox under the server key and is deleted once sent; every link is
deleted, reached or not. Run after `seal_earlier_contacts`, which still reads the links.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db
from bot.crypto import CryptoError, ServerKey
from bot.crypto.intake import IntakeSigner
from bot.earlier_links import EarlierLink
from bot.models import Account, Case, CaseStatus, Delivery, DeliveryState, Role
from bot.services import audit
from bot.services.delivery import RECEIPT
from bot.services.receipts import new_receipt, receipt_hash

log = logging.getLogger(__name__)


async def send_earlier_receipts(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: ServerKey,
    signer: IntakeSigner,
    done: Path,
) -> int:
    """Queue a receipt code for each earlier case whose relative can be reached, delete every
    link, and drop the chat ids relatives' accounts kept only for follow-ups (a subscriber's
    stays, for news). Returns how many receipt codes were queued.

    Once only, remembered in `done` (a file beside the intake key, not the database): after
    that, a link someone wrote into the database gets no receipt code (it would hand him a
    working receipt for any case); it is deleted and the refusal audited."""
    if _marked(done):
        return await _refuse_links(sessionmaker)
    queued = links = 0
    async with sessionmaker() as session, session.begin():
        rows = await session.execute(
            select(EarlierLink, Case, Account)
            .join(Case, Case.id == EarlierLink.case_id)
            .join(Account, Account.id == EarlierLink.account_id)
        )
        for link, case, account in list(rows):
            links += 1
            await session.delete(link)
            chat = _chat(key, account.chat_ref)
            if chat is None or case.status == CaseStatus.WITHDRAWN or case.receipt_hash:
                continue
            receipt = new_receipt()
            case.receipt_hash = receipt_hash(receipt)
            case.receipt_sig = signer.bind_receipt(case.uid, case.code, case.receipt_hash)
            message = {"chat": chat, "code": case.code, "receipt": receipt}
            session.add(
                Delivery(
                    kind=RECEIPT,
                    account_id=None,
                    case_id=case.id,  # withdrawn before it is sent: it goes with the case
                    sealed=key.encrypt(
                        json.dumps(message, ensure_ascii=False).encode(), context="delivery"
                    ),
                    locale=account.locale or case.locale,
                    state=DeliveryState.PENDING,
                    attempts=0,
                )
            )
            queued += 1
        await session.execute(
            update(Account)
            .where(
                Account.role == Role.RELATIVE,
                Account.subscribed.is_(False),
                Account.chat_ref.is_not(None),
            )
            .values(chat_ref=None)
        )
    if links:
        log.info("earlier cases: %d links deleted, %d receipt codes queued", links, queued)
        await db.wipe_traces(sessionmaker.kw["bind"])
    _mark(done, queued)
    return queued


async def _refuse_links(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session, session.begin():
        gone = await session.execute(delete(EarlierLink))
        count = int(getattr(gone, "rowcount", 0) or 0)
        if count:
            log.warning("%d earlier links appeared after the one-time step: deleted", count)
            await audit.record(
                session, actor="bot", action="earlier_links.refused", detail={"links": count}
            )
    return 0


def links_done(done: Path) -> bool:
    """Whether the one-time step for earlier links has run on this server."""
    return done.exists()


def _marked(done: Path) -> bool:
    return links_done(done)


def _mark(done: Path, queued: int) -> None:
    done.write_text(f"earlier receipt codes queued: {queued}\n", encoding="utf-8")


def _chat(key: ServerKey, chat_ref: bytes | None) -> int | None:
    if chat_ref is None:
        return None
    try:
        return int(key.decrypt(chat_ref, context="chat"))
    except (CryptoError, ValueError):
        return None
