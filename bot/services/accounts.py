"""Accounts: pseudonymous Telegram users, their language and role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.i18n import current_locale
from bot.models import Account, Role
from bot.services import audit


@dataclass(frozen=True)
class AccountView:
    """What handlers may know of an account: never the Telegram id."""

    id: int
    pseudonym: str
    role: Role
    locale: str | None
    subscribed: bool


def _view(account: Account) -> AccountView:
    return AccountView(
        id=account.id,
        pseudonym=account.pseudonym,
        role=account.role,
        locale=account.locale,
        subscribed=account.subscribed,
    )


class Accounts:
    """Finds and updates accounts by Telegram user id, storing only its keyed hash."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        *,
        admins: frozenset[int] = frozenset(),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._admins = admins

    def pseudonym(self, user_id: int) -> str:
        """The keyed hash that stands for a Telegram user id everywhere in the database."""
        return self._key.pseudonym("account", user_id)

    async def find_row(self, session: AsyncSession, user_id: int) -> Account | None:
        """The account row in the caller's session, or None; an account still known by an
        older server key's pseudonym is found too, and moved to the current one."""
        candidates = self._key.pseudonyms("account", user_id)
        account = await session.scalar(
            select(Account).where(Account.pseudonym.in_(candidates)).limit(1)
        )
        if account is not None and account.pseudonym != candidates[0]:
            account.pseudonym = candidates[0]
            if session.in_transaction():
                await session.flush()
        return account

    async def get_or_create(self, session: AsyncSession, user_id: int) -> Account:
        """The account row in the caller's session, created on first contact."""
        pseudonym = self.pseudonym(user_id)
        account = await self.find_row(session, user_id)
        if account is not None:
            return account
        role = Role.ADMIN if user_id in self._admins else Role.RELATIVE
        account = Account(pseudonym=pseudonym, role=role, subscribed=False)
        try:
            async with session.begin_nested():
                session.add(account)
        except IntegrityError:
            # Another update for the same user created it first.
            account = (
                await session.scalars(select(Account).where(Account.pseudonym == pseudonym))
            ).one()
        return account

    async def ensure(self, user_id: int) -> AccountView:
        """The account for this Telegram user, created on first contact."""
        async with self._sessionmaker() as session, session.begin():
            return _view(await self.get_or_create(session, user_id))

    async def find(self, user_id: int) -> AccountView | None:
        """The account if it exists; creates nothing."""
        async with self._sessionmaker() as session:
            account = await self.find_row(session, user_id)
            return None if account is None else _view(account)

    async def remember_staff_chat(self, user_id: int, chat_id: int) -> None:
        """Reviewers and admins are told when a case arrives, so their chat is kept, and
        their language: the one this update speaks (her Telegram's) until she picks one, so
        that staff alerts never fall back to the bot's default language."""
        async with self._sessionmaker() as session, session.begin():
            account = await self.get_or_create(session, user_id)
            if account.role in (Role.REVIEWER, Role.ADMIN):
                account.chat_ref = self._key.encrypt(str(chat_id).encode(), context="chat")
                if account.locale is None:
                    account.locale = current_locale()

    async def set_subscribed(self, user_id: int, chat_id: int, subscribed: bool) -> None:
        """Opt in or out of protest updates; the chat is kept only while it is needed."""
        async with self._sessionmaker() as session, session.begin():
            account = await self.get_or_create(session, user_id)
            account.subscribed = subscribed
            if subscribed:
                # Broadcasts go out in her account's language: the one she was answered in
                # (her Telegram's) until she picks one, never the bot's default.
                if account.locale is None:
                    account.locale = current_locale()
                account.chat_ref = self._key.encrypt(str(chat_id).encode(), context="chat")
                return
            # Questions and notices reach her through the contact sealed beside her case,
            # never through her account: a relative's chat id goes with her subscription.
            if account.role == Role.RELATIVE:
                account.chat_ref = None

    async def forget(self, user_id: int) -> bool:
        """/forget: delete a relative's account row — the pseudonym, her language, her news
        subscription, the chat id kept for her, pending messages to her. Her submitted cases
        stay with the team (no account is linked to them; her receipt codes still work).
        Staff are not forgotten this way (their role lives in the row). True if something was
        deleted."""
        async with self._sessionmaker() as session, session.begin():
            account = await self.find_row(session, user_id)
            if account is None or account.role != Role.RELATIVE:
                return False
            await session.delete(account)
            await audit.record(session, actor="relative", action="account.forgotten")
        return True

    async def set_locale(self, user_id: int, locale: str) -> AccountView:
        """Remember the language she chose."""
        async with self._sessionmaker() as session, session.begin():
            account = await self.get_or_create(session, user_id)
            account.locale = locale
            return _view(account)
