"""Roles: relative (everyone), reviewer, admin. Checked in the database at the moment of use."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.models import Account, Role, utcnow
from bot.services import audit
from bot.services.accounts import Accounts

CLI = "cli"
SYSTEM = "system"


class LastAdmin(Exception):
    """The change would leave the team with no admin; nothing was changed."""


class Refusal(enum.StrEnum):
    """Why a role change asked for in Telegram was not made (each one is audited)."""

    ON_THE_SERVER = "admin roles change on the server"
    LAST_ADMIN = "the last admin"


@dataclass(frozen=True)
class Pending:
    """A role change waiting for the admin's "Yes"."""

    admin_id: int
    target: int
    role: Role
    expires: datetime


@dataclass
class PendingChanges:
    """Role changes waiting for a "Yes", in this process's memory only, like a withdrawal's
    (bot/services/receipts.py `Confirmations`): a random nonce in the button, valid once, for
    the admin who asked, for ten minutes."""

    lifetime: timedelta = timedelta(minutes=10)
    _waiting: dict[str, Pending] = field(default_factory=dict)

    def offer(self, admin_id: int, target: int, role: Role, now: datetime | None = None) -> str:
        moment = now or utcnow()
        self._waiting = {k: v for k, v in self._waiting.items() if v.expires > moment}
        nonce = secrets.token_urlsafe(12)
        self._waiting[nonce] = Pending(admin_id, target, role, moment + self.lifetime)
        return nonce

    def take(self, admin_id: int, nonce: str, now: datetime | None = None) -> Pending | None:
        """The change to make, or None (unknown, expired, used, or another admin's). Another
        admin's press leaves it for the one who asked."""
        waiting = self._waiting.get(nonce)
        if waiting is None or waiting.admin_id != admin_id:
            return None
        del self._waiting[nonce]
        return waiting if waiting.expires > (now or utcnow()) else None


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
        self.pending = PendingChanges()

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
        if before == Role.ADMIN and role != Role.ADMIN and await _admins(session) <= 1:
            raise LastAdmin(f"{user_id} is the only admin")
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
        """Give a Telegram user a role; returns the role she had before. Raises LastAdmin
        (and audits the refusal) rather than leave the team with no admin."""
        try:
            async with self._sessionmaker() as session, session.begin():
                before, _account = await self._set(session, user_id, role, actor)
                return before
        except LastAdmin:
            action = "revoke" if role == Role.RELATIVE else "grant"
            await self._refuse(actor, action, user_id, Role.ADMIN, role, Refusal.LAST_ADMIN)
            raise

    async def revoke(self, actor: str, user_id: int) -> Role:
        """Back to relative; returns the role she had."""
        return await self.grant(actor, user_id, Role.RELATIVE)

    async def check_in_chat(self, actor: str, user_id: int, role: Role) -> Role | Refusal:
        """Whether a grant or revoke asked for in Telegram may be made: the role she has now,
        or why not (audited). Only reviewer and relative change hands there: admins are made
        and unmade on the server, so a hijacked admin account can neither add admins nor lock
        the real ones out; and the last admin is never unmade."""
        async with self._sessionmaker() as session:
            account = await self._accounts.find_row(session, user_id)
            before = account.role if account else Role.RELATIVE
            last = before == Role.ADMIN != role and await _admins(session) <= 1
        if last or Role.ADMIN in (role, before):
            reason = Refusal.LAST_ADMIN if last else Refusal.ON_THE_SERVER
            action = "revoke" if role == Role.RELATIVE else "grant"
            await self._refuse(actor, action, user_id, before, role, reason)
            return reason
        return before

    async def change_in_chat(self, actor: str, user_id: int, role: Role) -> Role | Refusal:
        """Make a change asked for (and confirmed) in Telegram: the role she had, or why not.
        Checked again here: the roles may have changed since she was asked."""
        checked = await self.check_in_chat(actor, user_id, role)
        if isinstance(checked, Refusal):
            return checked
        async with self._sessionmaker() as session, session.begin():
            account = await self._accounts.find_row(session, user_id)
            if account is not None and account.role == Role.ADMIN:
                return Refusal.ON_THE_SERVER  # made an admin on the server this instant
            before, _account = await self._set(session, user_id, role, actor)
            return before

    async def confirmed(self, actor: str, admin_id: int, nonce: str) -> Pending | None:
        """The change her "Yes" confirms; None (audited) for a button that is forged,
        replayed, expired or another admin's."""
        pending = self.pending.take(admin_id, nonce)
        if pending is None:
            async with self._sessionmaker() as session, session.begin():
                await audit.record(
                    session,
                    actor=actor,
                    action="refused",
                    target="role.confirm",
                    detail={"reason": "unknown, used, expired or another admin's confirmation"},
                )
        return pending

    async def _refuse(
        self, actor: str, action: str, user_id: int, before: Role, role: Role, reason: Refusal
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            await audit.record(
                session,
                actor=actor,
                action="refused",
                target=action,
                detail={
                    "reason": reason.value,
                    "account": self._accounts.pseudonym(user_id)[:16],
                    "from": before.value,
                    "to": role.value,
                },
            )

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


async def _admins(session: AsyncSession) -> int:
    """How many admins there are, their rows locked until the change commits (PostgreSQL), so
    that two admins revoking each other at once cannot both succeed."""
    rows = await session.scalars(
        select(Account.id).where(Account.role == Role.ADMIN).with_for_update()
    )
    return len(list(rows))
