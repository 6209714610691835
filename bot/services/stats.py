"""Numbers for admins: counts only, never content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Account, Case, Delivery, utcday, utcnow


@dataclass(frozen=True)
class Stats:
    cases_by_status: dict[str, int]
    cases_by_language: dict[str, int]
    cases_by_week: list[tuple[str, int]]
    subscribers_by_language: dict[str, int]
    deliveries_by_state: dict[str, int]


async def collect(sessionmaker: async_sessionmaker[AsyncSession], weeks: int = 8) -> Stats:
    """Case counts by status, language and ISO week; subscribers; deliveries."""
    async with sessionmaker() as session:
        by_status = {
            str(status.value): int(count)
            for status, count in await session.execute(
                select(Case.status, func.count(Case.id)).group_by(Case.status)
            )
        }
        by_language = {
            str(locale): int(count)
            for locale, count in await session.execute(
                # A withdrawn case keeps no language.
                select(Case.locale, func.count(Case.id))
                .where(Case.locale != "")
                .group_by(Case.locale)
            )
        }
        # Cases keep only their day (bot.models.utcday), so the window starts at a midnight.
        since = utcday(utcnow() - timedelta(weeks=weeks))
        weekly: dict[str, int] = {}
        for (created,) in await session.execute(
            select(Case.created_at).where(Case.created_at >= since)
        ):
            year, week, _day = created.isocalendar()
            key = f"{year}-W{week:02d}"
            weekly[key] = weekly.get(key, 0) + 1
        subscribers = {
            str(locale or ""): int(count)  # "": no language chosen
            for locale, count in await session.execute(
                select(Account.locale, func.count(Account.id))
                .where(Account.subscribed.is_(True))
                .group_by(Account.locale)
            )
        }
        deliveries = {
            str(state.value): int(count)
            for state, count in await session.execute(
                select(Delivery.state, func.count(Delivery.id)).group_by(Delivery.state)
            )
        }
    return Stats(by_status, by_language, sorted(weekly.items()), subscribers, deliveries)
