"""The types handlers are written against: the services, the application, the context.

Apart from the wiring (bot/app.py builds them), so that handlers/ and bot/app.py import in one
direction only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.crypto import ServerKey
from bot.i18n import Catalogs, negotiate_locale, use_locale
from bot.persistence import DatabasePersistence
from bot.services.accounts import Accounts
from bot.services.broadcasts import Broadcasts
from bot.services.cases import CaseStore
from bot.services.delivery_keys import DeliveryKeys
from bot.services.flood import FloodGate
from bot.services.followups import FollowUps
from bot.services.notices import Notices
from bot.services.outbox import Outbox
from bot.services.pieces import DraftPieces
from bot.services.receipts import Attempts, Confirmations
from bot.services.retention import Retention
from bot.services.reviewer_requests import RequestApplier
from bot.services.roles import Roles
from bot.services.sender import OutboxSender, SenderLoop
from bot.services.team import TeamRoster
from bot.settings import Settings


@dataclass
class Services:
    """Everything a handler may call, built once at start-up and passed in."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    server_key: ServerKey
    # The verified roster the bot seals to (bot/services/team.py).
    team: TeamRoster
    catalogs: Catalogs
    accounts: Accounts
    cases: CaseStore
    flood_gate: FloodGate
    roles: Roles
    broadcasts: Broadcasts
    outbox: Outbox
    retention: Retention
    notices: Notices
    followups: FollowUps
    delivery_keys: DeliveryKeys
    # Her answers sealed as they arrive, their plaintext in this process's memory only.
    pieces: DraftPieces
    # Reviewers' signed requests: the bot verifies and applies them (the only writer).
    reviewer_requests: RequestApplier
    # Set when the handlers are registered (it needs the bot to send through); the loop
    # runs the sender while the application runs.
    sender: OutboxSender | None = None
    sender_loop: SenderLoop | None = None
    # In this process's memory only: wrong receipts, and withdrawals waiting for "Yes".
    receipt_attempts: Attempts = field(default_factory=Attempts)
    withdrawals: Confirmations = field(default_factory=Confirmations)


class AigaqApplication(
    Application[ExtBot[None], "AigaqContext", dict[str, Any], dict[str, Any], dict[str, Any], Any]
):
    """PTB's Application, plus the locale of each update and a write-through persistence."""

    services: Services

    async def start(self) -> None:
        await super().start()
        if self.services.sender_loop is not None:
            await self.services.sender_loop.start()

    async def stop(self) -> None:
        if self.services.sender_loop is not None:
            await self.services.sender_loop.stop()
        await super().stop()

    async def process_update(self, update: object) -> None:
        locale = await self._locale_for(update) if isinstance(update, Update) else None
        with use_locale(locale or self.services.settings.default_locale):
            await super().process_update(update)
        # Write the conversation state and answers now, not every few seconds, so that a
        # crash (kill -9 included) loses nothing a relative already gave.
        await self.update_persistence()

    async def update_persistence(self) -> None:
        """PTB stages what changed; our persistence then writes it in one transaction."""
        await super().update_persistence()
        if isinstance(self.persistence, DatabasePersistence):
            await self.persistence.commit()
            # Replaced and discarded answers go only now: the drafts naming what replaced
            # them are committed.
            await self.services.pieces.after_commit()

    async def _locale_for(self, update: Update) -> str | None:
        user = update.effective_user
        if user is None:
            return None
        stored = self.user_data[user.id].get("locale") if user.id in self.user_data else None
        if stored is None:
            account = await self.services.accounts.find(user.id)
            stored = account.locale if account else None
            if stored is not None:
                self.user_data[user.id]["locale"] = stored
        return negotiate_locale(stored, user.language_code, self.services.settings.default_locale)


class AigaqContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """The callback context, typed, with the application's services at hand."""

    @property
    def services(self) -> Services:
        application = self.application
        assert isinstance(application, AigaqApplication)  # noqa: S101 - wiring invariant
        return application.services
