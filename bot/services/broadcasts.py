"""Protest updates: written by an admin per language, queued as one delivery per subscriber."""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import ServerKey
from bot.i18n import LOCALES, WRITTEN_LOCALES
from bot.models import Account, Broadcast, Delivery, DeliveryState, Role, utcnow
from bot.services import audit
from bot.states import BroadcastStatus
from bot.tote import to_arabic

SENDING, SCHEDULED = BroadcastStatus.SENDING, BroadcastStatus.SCHEDULED
DONE, CANCELLED = BroadcastStatus.DONE, BroadcastStatus.CANCELLED
PENDING_APPROVAL = BroadcastStatus.PENDING_APPROVAL
ALMATY = ZoneInfo("Asia/Almaty")


def parse_when(text: str) -> datetime | None:
    """'2026-11-25 18:00' or '25.11.2026 18:00', Almaty time, as an aware UTC moment."""
    for pattern in ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"):
        try:
            local = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return local.replace(tzinfo=ALMATY)
    return None


def _utc(moment: datetime | None) -> datetime | None:
    """Aware UTC: what is stored (SQLite keeps the wall time only) and what is read back."""
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def text_for(locale: str, texts: dict[str, str], fallback: list[str]) -> tuple[str, str] | None:
    """(language used, text) for a subscriber: her own language, else the fallback order.

    Who reads Arabic-script Kazakh gets the Kazakh text in her script.
    """
    if locale == "kk_Arab" and not texts.get(locale) and texts.get("kk"):
        return locale, to_arabic(texts["kk"])
    for candidate in [locale, *fallback]:
        if texts.get(candidate):
            return candidate, texts[candidate]
    return None


def fallback_order(texts: dict[str, str]) -> list[str]:
    """Languages that have a text, Kazakh first: what a subscriber without her own gets."""
    return [code for code in WRITTEN_LOCALES if texts.get(code)]


async def _subscribers(session: AsyncSession) -> list[tuple[int, str]]:
    """Subscribers who can be reached now: account and language."""
    rows = await session.execute(
        select(Account.id, Account.locale).where(
            Account.subscribed.is_(True), Account.chat_ref.is_not(None)
        )
    )
    return [(account_id, locale or LOCALES[0]) for account_id, locale in rows]


async def _queue_deliveries(
    session: AsyncSession, broadcast_id: int, subscribers: list[tuple[int, str]]
) -> None:
    """One pending delivery per subscriber (the outbox sends them once the broadcast runs)."""
    rows = [
        {
            "broadcast_id": broadcast_id,
            "account_id": account_id,
            "locale": locale,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "updated_at": utcnow(),
        }
        for account_id, locale in subscribers
    ]
    if rows:
        await session.execute(insert(Delivery), rows)


@dataclass(frozen=True)
class Awaiting:
    """A broadcast waiting for a second admin, and the admins who may approve it."""

    broadcast_id: int
    texts: dict[str, str]
    photo_file_id: str | None
    scheduled_at: datetime | None
    audience: int
    # (chat id, language) of every admin with a staff chat but the author.
    approvers: list[tuple[int, str]]


class Decision(enum.StrEnum):
    """What became of a second admin's Approve or Reject."""

    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_ADMIN = "not_admin"
    OWN = "own"
    NOT_WAITING = "not_waiting"


@dataclass(frozen=True)
class Figures:
    broadcast_id: int
    status: str
    created_at: datetime
    scheduled_at: datetime | None
    total: int
    sent: int
    pending: int
    failed: int
    blocked: int


class Broadcasts:
    """Create, schedule, cancel and count broadcasts. Sending is the outbox's job."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], server_key: ServerKey):
        self._sessionmaker = sessionmaker
        self._key = server_key

    async def audience(self) -> Counter[str]:
        """Subscribers who can be reached, by language."""
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Account.locale, func.count(Account.id))
                .where(Account.subscribed.is_(True), Account.chat_ref.is_not(None))
                .group_by(Account.locale)
            )
            return Counter({(locale or LOCALES[0]): int(count) for locale, count in rows})

    async def preview(self, texts: dict[str, str]) -> Counter[str]:
        """How many subscribers would get each language's text."""
        fallback = fallback_order(texts)
        counts: Counter[str] = Counter()
        for locale, count in (await self.audience()).items():
            chosen = text_for(locale, texts, fallback)
            if chosen is not None:
                counts[chosen[0]] += count
        return counts

    async def create(
        self,
        *,
        actor: str,
        created_by: int | None,
        texts: dict[str, str],
        photo_file_id: str | None = None,
        scheduled_at: datetime | None = None,
        progress_chat_id: int | None = None,
        approval_above: int | None = None,
    ) -> int:
        """The broadcast and one delivery per subscriber, in one transaction.

        With `approval_above` (a broadcast written in Telegram), one that would reach more
        subscribers waits for a second admin (`decide`) and has no deliveries until then.
        """
        cleaned = {code: text.strip() for code, text in texts.items() if text and text.strip()}
        if not cleaned:
            raise ValueError("a broadcast needs a text in at least one language")
        async with self._sessionmaker() as session, session.begin():
            broadcast = Broadcast(
                created_by=created_by,
                status=SCHEDULED if scheduled_at and scheduled_at > utcnow() else SENDING,
                texts=json.dumps(cleaned, ensure_ascii=False),
                fallback=",".join(fallback_order(cleaned)),
                photo_file_id=photo_file_id,
                scheduled_at=_utc(scheduled_at),
                progress_chat_ref=(
                    self._key.encrypt(str(progress_chat_id).encode(), context="chat")
                    if progress_chat_id is not None
                    else None
                ),
            )
            session.add(broadcast)
            await session.flush()
            audience = await _subscribers(session)
            detail: dict[str, object] = {"recipients": len(audience), "languages": sorted(cleaned)}
            if approval_above is not None and len(audience) > approval_above:
                broadcast.status = PENDING_APPROVAL
                detail["approval"] = "needed"
            else:
                await _queue_deliveries(session, broadcast.id, audience)
            await audit.record(
                session,
                actor=actor,
                action="broadcast.created",
                target=str(broadcast.id),
                detail=detail,
            )
            return broadcast.id

    async def awaiting(self, broadcast_id: int) -> Awaiting | None:
        """The broadcast if it waits for approval: its texts, audience and possible approvers."""
        async with self._sessionmaker() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None or broadcast.status != PENDING_APPROVAL:
                return None
            admins = await session.execute(
                select(Account.id, Account.chat_ref, Account.locale).where(
                    Account.role == Role.ADMIN, Account.chat_ref.is_not(None)
                )
            )
            approvers = [
                (int(self._key.decrypt(chat_ref, context="chat")), locale or LOCALES[0])
                for account_id, chat_ref, locale in admins
                if account_id != broadcast.created_by and chat_ref is not None
            ]
            return Awaiting(
                broadcast_id=broadcast.id,
                texts=json.loads(broadcast.texts),
                photo_file_id=broadcast.photo_file_id,
                scheduled_at=_utc(broadcast.scheduled_at),
                audience=len(await _subscribers(session)),
                approvers=approvers,
            )

    async def decide(
        self, actor: str, approver_id: int | None, broadcast_id: int, *, approve: bool
    ) -> Decision:
        """A second admin approves (queued now, or at its scheduled time) or rejects
        (cancelled) a waiting broadcast. The button is not trusted: her role, that she is
        not the author and that it still waits are checked here, in one transaction; a
        refusal is audited."""
        action = "broadcast.approve" if approve else "broadcast.reject"
        async with self._sessionmaker() as session, session.begin():
            approver = await session.get(Account, approver_id) if approver_id else None
            broadcast = await session.get(Broadcast, broadcast_id)
            if approver is None or approver.role != Role.ADMIN:
                refused = Decision.NOT_ADMIN
            elif broadcast is None or broadcast.status != PENDING_APPROVAL:
                refused = Decision.NOT_WAITING
            elif broadcast.created_by == approver.id:
                refused = Decision.OWN
            else:
                refused = None
            if refused is not None:
                await audit.record(
                    session,
                    actor=actor,
                    action="refused",
                    target=action,
                    detail={"broadcast": broadcast_id, "reason": refused.value},
                )
                return refused
            assert broadcast is not None  # noqa: S101 - checked above
            if not approve:
                status, finished = CANCELLED, utcnow()
            elif (_utc(broadcast.scheduled_at) or utcnow()) > utcnow():
                status, finished = SCHEDULED, None
            else:
                status, finished = SENDING, None
            # Conditional, so that of two admins pressing at once only one decides.
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == PENDING_APPROVAL)
                .values(status=status, finished_at=finished)
            )
            if not getattr(result, "rowcount", 0):
                return Decision.NOT_WAITING
            detail: dict[str, object] = {}
            if approve:
                audience = await _subscribers(session)
                await _queue_deliveries(session, broadcast_id, audience)
                detail["recipients"] = len(audience)
            await audit.record(
                session,
                actor=actor,
                action="broadcast.approved" if approve else "broadcast.rejected",
                target=str(broadcast_id),
                detail=detail or None,
            )
            return Decision.APPROVED if approve else Decision.REJECTED

    async def cancel(self, actor: str, broadcast_id: int) -> bool:
        """Stop a waiting, scheduled or running broadcast; deliveries already sent stay sent."""
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == broadcast_id,
                    Broadcast.status.in_([SENDING, SCHEDULED, PENDING_APPROVAL]),
                )
                .values(status=CANCELLED, finished_at=utcnow())
            )
            if not getattr(result, "rowcount", 0):
                return False
            await audit.record(
                session, actor=actor, action="broadcast.cancelled", target=str(broadcast_id)
            )
            return True

    async def progress_target(self, broadcast_id: int) -> tuple[int, int | None, str] | None:
        """The admin's chat, her progress message and her language, if she is to be told."""
        async with self._sessionmaker() as session:
            row = (
                await session.execute(
                    select(
                        Broadcast.progress_chat_ref, Broadcast.progress_message_id, Account.locale
                    )
                    .outerjoin(Account, Account.id == Broadcast.created_by)
                    .where(Broadcast.id == broadcast_id)
                )
            ).first()
        if row is None or row[0] is None:
            return None
        chat_id = int(self._key.decrypt(row[0], context="chat"))
        return chat_id, row[1], row[2] or LOCALES[0]

    async def set_progress_message(self, broadcast_id: int, message_id: int) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(progress_message_id=message_id)
            )

    async def figures(self, broadcast_id: int) -> Figures | None:
        """Sent, pending, failed and blocked counts of one broadcast."""
        found = await self.recent(limit=1, broadcast_id=broadcast_id)
        return found[0] if found else None

    async def recent(self, limit: int = 10, broadcast_id: int | None = None) -> list[Figures]:
        """The newest broadcasts with their figures."""
        async with self._sessionmaker() as session:
            query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
            if broadcast_id is not None:
                query = query.where(Broadcast.id == broadcast_id)
            broadcasts = list(await session.scalars(query))
            found = []
            for broadcast in broadcasts:
                counts = dict(
                    (state, int(count))
                    for state, count in await session.execute(
                        select(Delivery.state, func.count(Delivery.id))
                        .where(Delivery.broadcast_id == broadcast.id)
                        .group_by(Delivery.state)
                    )
                )
                if not counts and broadcast.sent_count is not None:
                    # Reduced to counts after 30 days.
                    counts = {
                        DeliveryState.SENT: broadcast.sent_count,
                        DeliveryState.FAILED: broadcast.failed_count or 0,
                        DeliveryState.BLOCKED: broadcast.blocked_count or 0,
                    }
                found.append(
                    Figures(
                        broadcast_id=broadcast.id,
                        status=broadcast.status,
                        created_at=broadcast.created_at,
                        scheduled_at=broadcast.scheduled_at,
                        total=sum(counts.values()),
                        sent=counts.get(DeliveryState.SENT, 0),
                        pending=counts.get(DeliveryState.PENDING, 0)
                        + counts.get(DeliveryState.SENDING, 0),
                        failed=counts.get(DeliveryState.FAILED, 0),
                        blocked=counts.get(DeliveryState.BLOCKED, 0),
                    )
                )
            return found
