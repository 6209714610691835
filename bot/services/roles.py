"""Roles: relative (everyone), reviewer, admin. Checked in the database at the moment of use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.models import Account, Role
from bot.services import audit
from bot.services.accounts import Accounts

CLI = "cli"
SYSTEM = "system"


@dataclass(frozen=True)
class TeamMember:
    telegram_id: int | None
    role: Role
    locale: str | None


class Roles:
    """Grant, revoke and check roles; every change and every refusal is audited."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        server_key: ServerKey,
        accounts: Accounts,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = server_key
        self._accounts = accounts

    async def role_of(self, user_id: int) -> Role:
        """Her role now; an unknown account is a relative."""
        account = await self._accounts.find(user_id)
        return account.role if account else Role.RELATIVE

    async def allowed(self, user_id: int, roles: Iterable[Role], *, action: str) -> bool:
        """Whether she may do this now; a refusal is written to the audit log."""
        wanted = set(roles)
        async with self._sessionmaker() as session, session.begin():
            account = await self._accounts.find_row(session, user_id)
            role = account.role if account else Role.RELATIVE
            if role in wanted:
                return True
            # Staff are named (by pseudonym); a relative who tried is only "relative".
            actor = audit.RELATIVE if role == Role.RELATIVE else self._accounts.pseudonym(user_id)
            await audit.record(
                session,
                actor=actor,
                action="refused",
                target=action,
                detail={"role": role.value},
            )
            return False

    async def _set(
        self, session: AsyncSession, user_id: int, role: Role, actor: str
    ) -> tuple[Role, Account]:
        account = await self._accounts.get_or_create(session, user_id)
        before = account.role
        account.role = role
        if role in (Role.REVIEWER, Role.ADMIN):
            # Staff are told when cases arrive; in a private chat the chat id is the user id.
            account.chat_ref = self._key.encrypt(str(user_id).encode(), context="chat")
        elif not account.subscribed:
            account.chat_ref = None
        if before != role:
            await audit.record(
                session,
                actor=actor,
                action="role.granted" if role != Role.RELATIVE else "role.revoked",
                target=account.pseudonym[:16],
                detail={"from": before.value, "to": role.value},
            )
        return before, account

    async def grant(self, actor: str, user_id: int, role: Role) -> Role:
        """Give a Telegram user a role; returns the role she had before."""
        async with self._sessionmaker() as session, session.begin():
            before, _account = await self._set(session, user_id, role, actor)
            return before

    async def revoke(self, actor: str, user_id: int) -> Role:
        """Back to relative; returns the role she had."""
        return await self.grant(actor, user_id, Role.RELATIVE)

    async def change_in_chat(self, actor: str, user_id: int, role: Role) -> Role | None:
        """A grant or revoke asked for in Telegram; returns the role she had, or None when
        refused. Only reviewer and relative change hands there: admins are made and unmade
        on the server, so a hijacked admin account can neither add admins nor lock the
        real ones out. A refusal is audited like any other."""
        action = "revoke" if role == Role.RELATIVE else "grant"
        async with self._sessionmaker() as session, session.begin():
            account = await self._accounts.find_row(session, user_id)
            before = account.role if account else Role.RELATIVE
            if Role.ADMIN in (role, before):
                await audit.record(
                    session,
                    actor=actor,
                    action="refused",
                    target=action,
                    detail={
                        "reason": "admin roles change on the server",
                        "account": self._accounts.pseudonym(user_id)[:16],
                        "from": before.value,
                        "to": role.value,
                    },
                )
                return None
            before, _account = await self._set(session, user_id, role, actor)
            return before

    async def bootstrap_admins(self, user_ids: Iterable[int]) -> int:
        """Make the AIGAQ_ADMINS accounts admins; returns how many changed."""
        changed = 0
        async with self._sessionmaker() as session, session.begin():
            for user_id in user_ids:
                before, account = await self._set(session, user_id, Role.ADMIN, SYSTEM)
                changed += before != account.role
        return changed

    async def team(self) -> list[TeamMember]:
        """Reviewers and admins, with the Telegram id kept for staff."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(Account)
                .where(Account.role.in_([Role.REVIEWER, Role.ADMIN]))
                .order_by(Account.role, Account.id)
            )
            return [
                TeamMember(
                    telegram_id=(
                        int(self._key.decrypt(row.chat_ref, context="chat"))
                        if row.chat_ref
                        else None
                    ),
                    role=row.role,
                    locale=row.locale,
                )
                for row in rows
            ]
