"""The team roster as a reviewer's tools trust it: pinned on her machine, never by the database.

The bot keeps each signed roster it loads in the `rosters` table. Her tools read the newest
one there and verify its signature against the roster key she pinned: AIGAQ_ROSTER_KEY if her
settings name it, else the key that signed the first roster her tools saw (kept in a file
beside her key, and printed so she can compare it with her admin). A roster older than the
newest her machine has seen is refused, so a database writer can withhold a new roster but
never put an old one back or make one of his own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto.keys import normalise_fingerprint
from bot.crypto.roster import Roster, RosterError, check_version, parse_roster
from bot.roster_copy import RosterCopy

log = logging.getLogger(__name__)


class NoRosterYet(RosterError):
    """The database holds no roster at all (a bot older than the roster, or never started)."""


@dataclass
class RosterPin:
    """Where her machine keeps the roster key it trusts and the newest version it saw."""

    key_file: Path  # her private key file: the pin and the version live beside it
    pinned: str | None = None  # AIGAQ_ROSTER_KEY on her machine, if set
    first_use: str | None = None  # set when this run pinned the key: say it to her

    @property
    def pin_file(self) -> Path:
        return self.key_file.with_name(self.key_file.name + ".roster-key")

    @property
    def seen_file(self) -> Path:
        return self.key_file.with_name(self.key_file.name + ".roster-seen")

    def _pinned(self) -> str | None:
        if self.pinned:
            return normalise_fingerprint(self.pinned)
        try:
            return normalise_fingerprint(self.pin_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RosterError(f"{self.pin_file} cannot be read ({type(exc).__name__})") from None

    async def verified(self, sessionmaker: async_sessionmaker[AsyncSession]) -> Roster:
        """The newest roster in the database, verified; RosterError says why not."""
        async with sessionmaker() as session:
            kept = await session.scalar(
                select(RosterCopy).order_by(RosterCopy.version.desc()).limit(1)
            )
        pinned = self._pinned()
        if kept is None:
            if pinned is not None or self.seen_file.exists():
                # She pinned a roster key, or her machine trusted a roster before: a roster
                # missing from the database was removed (or the bot has not started yet).
                raise RosterError(
                    "the database holds no signed roster, though this machine trusts a roster "
                    "key: someone deleted it, or the bot has not started with its roster yet. "
                    "Nothing was sealed"
                )
            raise NoRosterYet(
                "the database holds no signed roster: the bot stores one when it starts "
                "with AIGAQ_ROSTER and AIGAQ_ROSTER_KEY set"
            )
        if pinned is None:
            await self._one_signer_only(sessionmaker)
        roster = parse_roster(kept.document, pinned)
        if pinned is None:
            self.pin_file.write_text(roster.signed_by + "\n", encoding="utf-8")
            self.first_use = roster.signed_by
            log.warning(
                "pinned the team's roster key %s at first use: compare it with the one your "
                "admin gave you; if it differs, delete %s and stop",
                roster.signed_by,
                self.pin_file,
            )
        check_version(roster, self.seen_file)
        return roster

    async def _one_signer_only(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Pinning at first use trusts whoever signed the rosters: refuse when the database
        holds rosters signed by more than one key (someone added his own)."""
        async with sessionmaker() as session:
            documents = list(await session.scalars(select(RosterCopy.document)))
        signers = set()
        for document in documents:
            try:
                signers.add(parse_roster(document, None).signed_by)
            except RosterError:
                continue  # not a roster at all: it cannot be pinned either
        if len(signers) > 1:
            raise RosterError(
                f"the database holds rosters signed by {len(signers)} different keys: pin your "
                "team's roster key with AIGAQ_ROSTER_KEY (your admin has its fingerprint); "
                "nothing was pinned"
            )
