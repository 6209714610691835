"""`aigaq keys server --rotate`: a new server key, and everything it protects rewritten.

Run with the bot stopped. In one transaction: drafts are re-encrypted and re-filed under
the new key's pseudonyms; kept chat ids are re-encrypted; accounts whose chat id is kept
(staff, subscribers — in a private chat the chat id is the user id) get their new pseudonym
at once. The bot's delivery keys are files of their own, untouched: reviewers' pin stays
valid. The old key stays in the key file behind the new one, so that accounts the bot cannot
re-derive (no Telegram id is stored for them) are found by their old pseudonym and moved on
their next message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.models import Account, Broadcast, Draft
from bot.services import audit


@dataclass(frozen=True)
class Rotated:
    drafts: int
    accounts: int
    chat_refs: int


async def rotate(
    sessionmaker: async_sessionmaker[AsyncSession], old: ServerKey, new: ServerKey
) -> Rotated:
    """Rewrite under `new` what was written under `old` (the caller saves the key file)."""
    drafts = accounts = refs = 0
    async with sessionmaker() as session, session.begin():
        for draft in await session.scalars(select(Draft)):
            context = f"draft:{draft.kind}:{draft.name}"
            plain = old.decrypt(draft.data, context=context)
            key = json.loads(plain)["key"]
            draft.ref = new.pseudonym(f"draft:{draft.kind}:{draft.name}", json.dumps(key))
            draft.data = new.encrypt(plain, context=context)
            drafts += 1
        for account in await session.scalars(select(Account).where(Account.chat_ref.is_not(None))):
            assert account.chat_ref is not None  # noqa: S101 - filtered above
            chat = old.decrypt(account.chat_ref, context="chat")
            if account.pseudonym in old.pseudonyms("account", int(chat)):
                account.pseudonym = new.pseudonym("account", int(chat))
                accounts += 1
            account.chat_ref = new.encrypt(chat, context="chat")
            refs += 1
        for broadcast in await session.scalars(
            select(Broadcast).where(Broadcast.progress_chat_ref.is_not(None))
        ):
            assert broadcast.progress_chat_ref is not None  # noqa: S101
            chat = old.decrypt(broadcast.progress_chat_ref, context="chat")
            broadcast.progress_chat_ref = new.encrypt(chat, context="chat")
            refs += 1
        result = Rotated(drafts=drafts, accounts=accounts, chat_refs=refs)
        await audit.record(
            session, actor="cli", action="server_key.rotated", detail=result.__dict__
        )
    return result
