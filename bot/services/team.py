"""The keys the bot seals to: the verified roster's reviewers, held in memory.

The bot reads the roster file at start (and again each day), checks its signature against
the roster key's fingerprint in its settings (never the database) and refuses a version
older than one it has seen. The `recipients` table is only a look-up copy, so that wrapped
keys can name their reviewer by row id: rows are made to match the roster, and a row the
roster does not list never gets a wrapped key, whatever the database says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import RecipientPublicKey
from bot.crypto.roster import Roster, RosterError, check_version, parse_roster, read_roster
from bot.models import Recipient, utcnow
from bot.roster_copy import RosterCopy
from bot.sealing import Holder
from bot.services import audit

log = logging.getLogger(__name__)


class NoRecipients(Exception):
    """No reviewer key to seal to (the roster is not loaded, or lists none)."""


@dataclass(frozen=True)
class Mismatch:
    """A recipients row that disagrees with the roster (what `doctor` names)."""

    key_id: str
    label: str
    reason: str


def _public(row: Recipient) -> RecipientPublicKey:
    return RecipientPublicKey(suite=row.suite, public_bytes=row.public_key, label=row.label)


async def mismatches(session: AsyncSession, roster: Roster) -> list[Mismatch]:
    """Active rows the roster does not list, and listed keys whose row was changed."""
    listed = {key.key_id: key for key in roster.keys}
    found = []
    for row in await session.scalars(select(Recipient).order_by(Recipient.id)):
        key = listed.get(row.key_id)
        if key is None:
            if row.active:
                found.append(Mismatch(row.key_id, row.label, "active, but not in the roster"))
        elif _public(row).fingerprint != key.fingerprint:
            found.append(Mismatch(row.key_id, row.label, "its public key is not the roster's"))
    return found


class TeamRoster:
    """The verified roster and the holders every seal goes to."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        path: Path,
        pinned: str,
        seen_file: Path,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._path = path
        self._pinned = pinned
        self._seen_file = seen_file
        self._holders: list[Holder] = []
        self._read_at: int | None = None  # the file's mtime when it was loaded
        self.roster: Roster | None = None

    def read(self) -> Roster:
        """The roster file, verified and not older than one seen (RosterError otherwise)."""
        roster = read_roster(self._path, self._pinned)
        check_version(roster, self._seen_file)
        return roster

    async def load(self) -> Roster:
        """Read and verify the roster, make the look-up table match it, hold its keys."""
        read_at = self._path.stat().st_mtime_ns
        roster = self.read()
        async with self._sessionmaker() as session, session.begin():
            for wrong in await mismatches(session, roster):
                log.warning(
                    "recipients row %s disagrees with the roster (%s): not sealed to",
                    wrong.key_id,
                    wrong.reason,
                )
                await audit.record(
                    session,
                    actor="bot",
                    action="roster.mismatch",
                    target=wrong.key_id,
                    detail={"reason": wrong.reason},
                )
            rows = {
                row.key_id: row
                for row in await session.scalars(select(Recipient).order_by(Recipient.id))
            }
            listed = {key.key_id for key in roster.keys}
            for row in rows.values():
                if row.key_id not in listed and row.active:
                    row.active, row.retired_at = False, utcnow()
            for key in roster.keys:
                row = rows.get(key.key_id) or Recipient(key_id=key.key_id)
                if row.id is None:
                    session.add(row)
                # The roster's bytes, whatever the row held: the row is only a look-up copy.
                row.suite, row.public_key, row.label = key.suite, key.public_bytes, key.label
                row.active, row.retired_at = True, None
                rows[key.key_id] = row
            await self._keep_copy(session, roster)
            await session.flush()
            self._holders = [Holder(key, recipient_id=rows[key.key_id].id) for key in roster.keys]
        self.roster, self._read_at = roster, read_at
        log.info("roster version %d: %d reviewer keys", roster.version, len(roster.keys))
        return roster

    async def reload_if_changed(self) -> None:
        """Load the roster file again if it changed since it was loaded (an admin copied the
        next version): reviewers left out stop acting at once, not at the next restart. A
        file that does not verify is refused and the roster held stays."""
        try:
            modified = self._path.stat().st_mtime_ns
        except OSError:
            return
        if modified == self._read_at:
            return
        try:
            await self.load()
        except RosterError as exc:
            self._read_at = modified  # said once, not at every round
            log.error("the changed roster file is refused, the one loaded stays: %s", exc)

    async def _keep_copy(self, session: AsyncSession, roster: Roster) -> None:
        """Keep the roster as signed, for reviewer tools to verify against the key they
        pinned. Another validly signed roster of the same version is refused (two teams'
        worth of readers under one number); a copy that does not verify is replaced."""
        kept = await session.get(RosterCopy, roster.version)
        if kept is None:
            session.add(RosterCopy(version=roster.version, document=roster.document))
            return
        if kept.document == roster.document:
            return
        try:
            parse_roster(kept.document, self._pinned)
        except RosterError:
            kept.document = roster.document
            await audit.record(
                session, actor="bot", action="roster.replaced", target=str(roster.version)
            )
            return
        raise RosterError(
            f"roster version {roster.version} was loaded before with other reviewers: sign the "
            "new roster with a higher --version"
        )

    def holders(self) -> list[Holder]:
        """Who a new object is sealed to: the roster's reviewers, from memory."""
        if not self._holders:
            raise NoRecipients("no roster loaded: nothing can be sealed")
        return list(self._holders)
