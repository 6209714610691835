"""`aigaq keys server --rotate` and `--drop-old`: a new server key, everything it protects
rewritten, and the old key gone once nothing needs it.

Rotate with the bot stopped. In one transaction: drafts are re-encrypted and re-filed under
the new key's pseudonyms; kept chat ids and the outbox's server-encrypted messages are
re-encrypted; accounts whose chat id is kept (staff, subscribers — in a private chat the chat
id is the user id) get their new pseudonym at once. The bot's delivery keys are files of their
own, untouched: reviewers' pin stays valid. The old key stays in the key file behind the new
one, so that accounts the bot cannot re-derive (no Telegram id is stored for them) are found
by their old pseudonym and moved on their next message; the rotation notes which they are.

Dropping checks every row the server key protects with the current key alone and removes the
older keys from the file only if none needs them, else names what does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import CryptoError, ServerKey
from bot.models import Account, Broadcast, Delivery, Draft, Role, Setting
from bot.services import audit

# The accounts the last rotation could not move, {account id: the first 16 characters of the
# pseudonym it left them with} (a pseudonym's prefix names staff in the audit log already).
UNMOVED = "server_key.unmoved"


@dataclass(frozen=True)
class Rotated:
    drafts: int
    accounts: int
    chat_refs: int
    messages: int
    unmoved: int


class OldKeyNeeded(Exception):
    """Rows that only an older server key opens or finds, by what they are."""

    def __init__(self, needs: dict[str, int]) -> None:
        super().__init__(", ".join(f"{count} {what}" for what, count in needs.items()))
        self.needs = needs


async def rotate(
    sessionmaker: async_sessionmaker[AsyncSession],
    old: ServerKey,
    new: ServerKey,
    save: Callable[[ServerKey], None] | None = None,
) -> Rotated:
    """Rewrite under `new` what was written under `old`; `save` writes the key file before
    the commit, so that no crash leaves rows under a key the file does not hold."""
    drafts = accounts = refs = messages = 0
    unmoved: dict[str, str] = {}
    async with sessionmaker() as session, session.begin():
        for draft in await session.scalars(select(Draft)):
            context = f"draft:{draft.kind}:{draft.name}"
            plain = old.decrypt(draft.data, context=context)
            key = json.loads(plain)["key"]
            draft.ref = new.pseudonym(f"draft:{draft.kind}:{draft.name}", json.dumps(key))
            draft.data = new.encrypt(plain, context=context)
            drafts += 1
        for account in await session.scalars(select(Account)):
            if account.chat_ref is None:
                unmoved[str(account.id)] = account.pseudonym[:16]
                continue
            chat = old.decrypt(account.chat_ref, context="chat")
            if account.pseudonym in old.pseudonyms("account", int(chat)):
                account.pseudonym = new.pseudonym("account", int(chat))
                accounts += 1
            else:  # a chat that is not her own private chat: her user id is not known
                unmoved[str(account.id)] = account.pseudonym[:16]
            account.chat_ref = new.encrypt(chat, context="chat")
            refs += 1
        for broadcast in await session.scalars(
            select(Broadcast).where(Broadcast.progress_chat_ref.is_not(None))
        ):
            assert broadcast.progress_chat_ref is not None  # noqa: S101
            chat = old.decrypt(broadcast.progress_chat_ref, context="chat")
            broadcast.progress_chat_ref = new.encrypt(chat, context="chat")
            refs += 1
        for row in await session.scalars(_server_sealed_deliveries()):
            assert row.sealed is not None  # noqa: S101 - filtered
            if _opens(old, row.sealed, "delivery"):  # one that none opens can never be sent
                plain = old.decrypt(row.sealed, context="delivery")
                row.sealed = new.encrypt(plain, context="delivery")
                messages += 1
        await session.merge(Setting(name=UNMOVED, value=json.dumps(unmoved)))
        result = Rotated(
            drafts=drafts,
            accounts=accounts,
            chat_refs=refs,
            messages=messages,
            unmoved=len(unmoved),
        )
        await audit.record(
            session, actor="cli", action="server_key.rotated", detail=result.__dict__
        )
        if save is not None:
            save(new)
    return result


async def old_key_needs(session: AsyncSession, key: ServerKey) -> dict[str, int]:
    """What only an older master of `key` opens or finds, by what it is (empty: nothing)."""
    current = key.current()

    def needs_old(token: bytes, context: str) -> bool:
        return not _opens(current, token, context) and _opens(key, token, context)

    needs: dict[str, int] = {}

    def count(what: str, yes: bool) -> None:
        if yes:
            needs[what] = needs.get(what, 0) + 1

    for draft in await session.scalars(select(Draft)):
        context = f"draft:{draft.kind}:{draft.name}"
        if needs_old(draft.data, context):
            count("drafts", True)
        elif _opens(current, draft.data, context):
            draft_key = json.dumps(json.loads(current.decrypt(draft.data, context=context))["key"])
            count("drafts", draft.ref in key.pseudonyms(context, draft_key)[1:])
    for account in await session.scalars(select(Account).where(Account.chat_ref.is_not(None))):
        assert account.chat_ref is not None  # noqa: S101 - filtered
        if needs_old(account.chat_ref, "chat"):
            count("accounts' chat ids", True)
        elif _opens(current, account.chat_ref, "chat"):
            chat = current.decrypt(account.chat_ref, context="chat")
            older = key.pseudonyms("account", int(chat))[1:]
            count("accounts known by an old pseudonym", account.pseudonym in older)
    for ref in await session.scalars(
        select(Broadcast.progress_chat_ref).where(Broadcast.progress_chat_ref.is_not(None))
    ):
        count("broadcasts' progress chats", ref is not None and needs_old(ref, "chat"))
    for row in await session.scalars(_server_sealed_deliveries()):
        count("outbox messages", row.sealed is not None and needs_old(row.sealed, "delivery"))
    unmoved = await _unmoved(session)
    # Rotated before rotations kept this note: which accounts it could not move is unknown.
    count("accounts from a rotation that kept no note (rotate again)", unmoved is None)
    for account in unmoved or []:
        staff = account.role in (Role.REVIEWER, Role.ADMIN)
        whose = "staff accounts" if staff else "relatives' accounts"
        count(f"{whose} not seen since the rotation", True)
    return needs


async def drop_old(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: ServerKey,
    save: Callable[[ServerKey], None],
    *,
    forget_unmoved: bool = False,
) -> int:
    """Save `key` without its older masters, once no row needs them; returns how many went.
    `forget_unmoved` first deletes relatives' accounts no one has used since the rotation (a
    language choice each). Raises OldKeyNeeded, changing nothing, if any row needs them."""
    older = len(key.masters) - 1
    if older == 0:
        return 0
    async with sessionmaker() as session, session.begin():
        forgotten = 0
        if forget_unmoved:
            for account in await _unmoved(session) or []:
                if account.role == Role.RELATIVE:
                    await session.delete(account)
                    forgotten += 1
            await session.flush()
        needs = await old_key_needs(session, key)
        if needs:
            raise OldKeyNeeded(needs)
        await session.execute(delete(Setting).where(Setting.name == UNMOVED))
        detail: dict[str, Any] = {"masters": older, "accounts_forgotten": forgotten}
        await audit.record(session, actor="cli", action="server_key.old_dropped", detail=detail)
        # Saved before the commit: if the file cannot be written, the database is unchanged.
        save(key.current())
    return older


async def _unmoved(session: AsyncSession) -> list[Account] | None:
    """Accounts the last rotation left under an older pseudonym that have not moved since
    (None if it kept no note of them)."""
    row = await session.get(Setting, UNMOVED)
    if row is None:
        return None
    left: dict[str, str] = json.loads(row.value)
    if not left:
        return []
    # Every account is read: a list of ids could pass the database's limit of parameters.
    accounts = await session.scalars(select(Account))
    return [a for a in accounts if left.get(str(a.id)) == a.pseudonym[:16]]


def _server_sealed_deliveries() -> Select[Delivery]:
    """Outbox rows whose message is server-encrypted (the others are sealed to the bot's
    delivery key, kind `delivery`, and do not depend on the server key)."""
    return select(Delivery).where(Delivery.uid.is_(None), Delivery.sealed.is_not(None))


def _opens(key: ServerKey, token: bytes, context: str) -> bool:
    try:
        key.decrypt(token, context=context)
    except CryptoError:
        return False
    return True
