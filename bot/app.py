"""The one place that wires Aigaq together: `build_application(settings)`."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot import db
from bot.context import AigaqApplication, AigaqContext, Services
from bot.crypto import ServerKey
from bot.crypto.delivery import DeliveryKeyring
from bot.crypto.intake import IntakeSigner
from bot.i18n import Catalogs
from bot.models import Role
from bot.persistence import DatabasePersistence
from bot.services.accounts import Accounts
from bot.services.attest import attest_earlier
from bot.services.broadcasts import Broadcasts
from bot.services.cases import CaseStore
from bot.services.contacts import seal_earlier_contacts
from bot.services.delivery_keys import DeliveryKeys
from bot.services.earlier import links_done, send_earlier_receipts
from bot.services.flood import FloodGate
from bot.services.followups import FollowUps
from bot.services.notices import Notices
from bot.services.outbox import Outbox
from bot.services.pieces import DraftPieces
from bot.services.receipts import bind_earlier
from bot.services.retention import Retention
from bot.services.reviewer_requests import RequestApplier
from bot.services.roles import Roles
from bot.services.team import TeamRoster
from bot.settings import Settings
from handlers import register_all

log = logging.getLogger(__name__)


TELEGRAM_RATE = 30.0  # messages a second, all chats together


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    check_schema: bool = True,
    rate_limit: bool = True,
    overall_rate: float = TELEGRAM_RATE,
) -> AigaqApplication:
    """Build the bot: services, persistence, rate limiter and every handler. Starts nothing."""
    # Our conversations are per chat and user on purpose (their buttons carry the step).
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    token = settings.require_token()
    settings.require_organisation()
    server_key = ServerKey.load(settings.secret_key_file)
    roster_key = settings.require_roster_key()
    catalogs = Catalogs.load()
    catalogs.install()
    engine = db.create_engine(settings.database_url)
    sessionmaker = db.make_sessionmaker(engine)
    team = TeamRoster(sessionmaker, settings.roster, roster_key, settings.roster_seen())
    # Read now, so that a missing, forged or older roster stops the start with its reason.
    team.read()
    accounts = Accounts(sessionmaker, server_key, admins=frozenset(settings.admins))
    delivery_keys = DeliveryKeys(
        sessionmaker,
        DeliveryKeyring(settings.delivery_folder()),
        rotate_after=timedelta(days=settings.delivery_key_days),
    )
    intake_signer = IntakeSigner(settings.intake_key())
    requests = RequestApplier(
        sessionmaker,
        team,
        delivery_keys,
        max_age=timedelta(days=settings.request_max_age_days),
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        server_key=server_key,
        team=team,
        catalogs=catalogs,
        accounts=accounts,
        cases=CaseStore(
            sessionmaker,
            server_key,
            accounts,
            team=team,
            max_per_day=settings.max_submissions_per_day,
            intake_signer=intake_signer,
        ),
        pieces=DraftPieces(sessionmaker, engine, team),
        flood_gate=FloodGate(settings.max_messages_per_minute),
        roles=Roles(sessionmaker, server_key, accounts),
        broadcasts=Broadcasts(sessionmaker, server_key),
        outbox=Outbox(sessionmaker, server_key, delivery_keys=delivery_keys),
        notices=Notices(),
        followups=FollowUps(
            sessionmaker,
            token_ttl=timedelta(days=settings.answer_token_days),
            signer=intake_signer,
        ),
        delivery_keys=delivery_keys,
        reviewer_requests=requests,
        retention=Retention(
            sessionmaker,
            server_key,
            draft_ttl=timedelta(days=settings.draft_ttl_days),
            rejected_after=(
                timedelta(days=settings.rejected_retention_days)
                if settings.rejected_retention_days is not None
                else None
            ),
            answer_token_ttl=timedelta(days=settings.answer_token_days),
        ),
    )

    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if check_schema:
            await db.ensure_schema_current(engine)
        await team.load()
        await services.roles.bootstrap_admins(settings.admins)
        # A delivery key that is due is made and its certificate published before anything
        # can be sealed to it; then what was kept the old way is sealed (a one-time step).
        await delivery_keys.rotate()
        requests.serve_locally(engine)
        listed = frozenset(holder.recipient_id for holder in team.holders() if holder.recipient_id)
        # One-time steps, remembered beside the intake key (never in the database).
        intake = settings.intake_key()
        earlier = intake.with_name(intake.name + ".earlier-links-done")
        await seal_earlier_contacts(
            sessionmaker, server_key, delivery_keys, listed, links_done=links_done(earlier)
        )
        await send_earlier_receipts(sessionmaker, server_key, services.cases.signer, earlier)
        await attest_earlier(
            sessionmaker, services.cases.signer, intake.with_name(intake.name + ".attested")
        )
        await bind_earlier(
            sessionmaker,
            services.cases.signer,
            intake.with_name(intake.name + ".receipts-bound"),
        )
        from handlers.menus import set_commands_for, set_default_commands

        await set_default_commands(application.bot, settings.default_locale)
        for admin in settings.admins:
            account = await services.accounts.find(admin)
            locale = (account.locale if account else None) or settings.default_locale
            await set_commands_for(application.bot, admin, Role.ADMIN, locale)

    async def post_shutdown(_application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        requests.stop_serving(engine)
        await engine.dispose()

    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(AigaqApplication)
        .token(token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .context_types(ContextTypes(context=AigaqContext))
        .persistence(
            DatabasePersistence(
                sessionmaker, server_key, ttl=timedelta(days=settings.draft_ttl_days)
            )
        )
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        # Telegram's limits: 30 messages a second overall, a 429 is retried (max_retries
        # defaults to 0, which would raise it instead). Tests on the fake Bot API keep the
        # limiter but not Telegram's pace (`overall_rate`).
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=overall_rate, max_retries=3))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    assert isinstance(application, AigaqApplication)  # noqa: S101 - wiring invariant
    application.services = services
    register_all(application)
    return application
