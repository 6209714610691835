"""The mirror of bot/sealing.py on the reviewer's machine: open any sealed object with her key,
and choose whom a new note or question is sealed to — only keys in her own team list.

A database writer can add a `recipients` row; he cannot add a line to the team key list on her
machine (AIGAQ_RECIPIENTS), so a row whose key is not in it gets nothing and the refusal is
audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import CryptoError, RecipientPublicKey, load_recipients, open_sealed
from bot.crypto.roster import Roster, RosterError
from bot.models import Recipient, SealedKey
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.roster_pin import NoRosterYet, RosterPin
from bot.sealing import Holder


class ReviewError(Exception):
    """A case can't be found or opened, or a decision is not allowed."""


class NotSealedToYou(ReviewError):
    """This key holds no wrapped key for the object: say which, never show it as empty."""

    def __init__(self, name: str, key_id: str) -> None:
        super().__init__(
            f"{name} was not sealed to your key {key_id}: a reviewer who can open it can run "
            f"`aigaq keys rewrap --to {key_id}`"
        )
        self.name = name
        self.key_id = key_id


async def my_wrapped_key(
    session: AsyncSession, key: ReviewerKey, kind: str, uid: str, *, name: str
) -> bytes:
    """The object's data key as wrapped for this reviewer's key; `name` says what it is.
    One query (an export opens every case and every file's record this way)."""
    wrapped = await session.scalar(
        select(SealedKey.wrapped_key)
        .join(Recipient, Recipient.id == SealedKey.recipient_id)
        .where(
            Recipient.key_id == key.key_id,
            SealedKey.kind == kind,
            SealedKey.object_uid == uid,
        )
    )
    if wrapped is None:
        raise NotSealedToYou(name, key.key_id)
    return wrapped


async def open_object(
    session: AsyncSession, key: ReviewerKey, kind: str, uid: str, ciphertext: bytes, *, name: str
) -> bytes:
    """Open a sealed object of any kind; NotSealedToYou if it was not sealed to this key."""
    wrapped = await my_wrapped_key(session, key, kind, uid, name=name)
    return open_sealed(ciphertext, wrapped, key, object_id=uid, kind=kind)


class TeamKeys:
    """The reviewer keys her tools seal to: active database rows whose full fingerprint is in
    the signed roster she pinned (bot/reviewing/roster_pin.py) or, while the database holds
    no roster yet, in the team key list on her own machine (`aigaq-pub-v1` lines)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        actor: str,
        path: Path | None,
        roster_pin: RosterPin | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._actor = actor
        self.path = path
        self.roster_pin = roster_pin
        self.roster: Roster | None = None  # the verified roster, once read
        self.source = str(path)
        # How a refusal reaches the audit log: a signed event request (set by her tools).
        self.report: Callable[..., Awaitable[None]] | None = None

    async def listed(self) -> dict[str, RecipientPublicKey]:
        """Fingerprint -> key, from the verified roster (or her list while there is none)."""
        if self.roster_pin is not None:
            try:
                self.roster = await self.roster_pin.verified(self._sessionmaker)
                self.source = f"the team roster (version {self.roster.version})"
                return {key.fingerprint: key for key in self.roster.keys}
            except NoRosterYet:
                if self.path is None:
                    raise TeamListMissing(
                        "the database holds no signed roster and no team key list is set"
                    ) from None
                try:
                    return {key.fingerprint: key for key in load_recipients(self.path)}
                except CryptoError as exc:
                    raise TeamListMissing(
                        f"the database holds no signed roster, and the team key list cannot "
                        f"be read: {exc}"
                    ) from None
            except RosterError as exc:
                raise TeamListMissing(f"the team roster cannot be trusted: {exc}") from None
        if self.path is None:
            raise TeamListMissing("no team key list: set AIGAQ_RECIPIENTS to the team's key file")
        try:
            return {key.fingerprint: key for key in load_recipients(self.path)}
        except CryptoError as exc:
            raise TeamListMissing(f"the team key list cannot be read: {exc}") from None

    async def holders(self, what: str) -> list[Holder]:
        """Every active reviewer row, each checked against the roster; else refused and
        audited.

        Read before the sealing transaction starts, so that a refusal's audit row is written
        while nothing else holds the database; the object is sealed to exactly these."""
        try:
            listed = await self.listed()
        except TeamListMissing as exc:
            await self._refused(what, None, "no team list")
            raise ReviewError(f"nothing was sealed ({what}): {exc}") from None
        holders = []
        async with self._sessionmaker() as session:
            rows = list(await session.scalars(select(Recipient).where(Recipient.active.is_(True))))
        for row in rows:
            key = RecipientPublicKey(suite=row.suite, public_bytes=row.public_key, label=row.label)
            if key.fingerprint not in listed:
                await self._refused(what, key, "not in the team list")
                raise ReviewError(
                    f"nothing was sealed ({what}): the database lists reviewer key "
                    f"{row.key_id} ({row.label or 'no label'}, fingerprint {key.fingerprint}), "
                    f"which is not in {self.source}. If it is a new colleague, an admin adds "
                    "her to the next roster; otherwise someone changed the database"
                )
            holders.append(Holder(key, recipient_id=row.id))
        if not holders:
            raise ReviewError(f"nothing was sealed ({what}): the database lists no active key")
        return holders

    async def _refused(self, what: str, key: RecipientPublicKey | None, reason: str) -> None:
        """Leave a trace in the audit log (a signed event request the bot applies)."""
        if self.report is None:
            return
        await self.report(
            "seal.refused",
            key.key_id if key else None,
            what=what[:200],
            reason=reason,
            fingerprint=key.fingerprint[:16] if key else "",
        )


class TeamListMissing(Exception):
    """She has no readable team key list."""
