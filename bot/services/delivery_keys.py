"""The bot's delivery keys at work: published for reviewer tools, rotated, destroyed, used.

The key files are bot/crypto/delivery.py's; this side puts the current key's certificate in
the `settings` table (reviewer tools verify it against the signing key they pinned, never
trust the row), makes a new key when the current one is `rotate_after` old, deletes an old
private half once its certificate has expired and no pending wrapped key
(`sealed_keys.delivery_key_id`) names it, and opens a delivery blob when the outbox sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import CryptoError, open_sealed
from bot.crypto.delivery import DeliveryKeyring, HeldKey
from bot.models import SealedKey, Setting, utcnow
from bot.sealing import Holder, seal_object

log = logging.getLogger(__name__)

CERTIFICATE = "delivery_cert"
DELIVERY = "delivery"
# A certificate outlives the rotation a little: the daily job may run a day late.
GRACE = timedelta(days=2)


@dataclass(frozen=True)
class Rotation:
    """What one pass did: a key made (its id), old private halves destroyed (their ids)."""

    made: str | None = None
    destroyed: list[str] = field(default_factory=list)


class DeliveryKeys:
    """The bot's side of its delivery keys."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        keyring: DeliveryKeyring,
        *,
        rotate_after: timedelta = timedelta(days=7),
    ) -> None:
        self._sessionmaker = sessionmaker
        self.keyring = keyring
        self.rotate_after = rotate_after

    @property
    def fingerprint(self) -> str:
        """The signing key's fingerprint, which reviewers pin."""
        return self.keyring.fingerprint

    def current(self) -> HeldKey | None:
        return self.keyring.current()

    async def rotate(self, now: datetime | None = None) -> Rotation:
        """Make a key if there is none or the current one is due, publish its certificate,
        and destroy old private halves nothing pending is sealed to. Run at start and daily."""
        now = now or utcnow()
        self.keyring.reload()
        current = self.keyring.current()
        made = None
        if current is None or now - current.created >= self.rotate_after:
            current = self.keyring.make(now)
            made = current.key.key_id
            log.info("delivery key rotated")
        line = self.keyring.certificate(current, self.rotate_after + GRACE)
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(Setting, CERTIFICATE)
            if row is None:
                session.add(Setting(name=CERTIFICATE, value=line))
            else:
                row.value = line
            pending = set(
                await session.scalars(
                    select(SealedKey.delivery_key_id).where(SealedKey.delivery_key_id.is_not(None))
                )
            )
        destroyed = []
        for key_id, held in list(self.keyring.held.items()):
            # Not while its certificate is valid: a reviewer who read it may be sealing to it.
            certified = now <= held.created + self.rotate_after + GRACE
            if key_id == current.key.key_id or key_id in pending or certified:
                continue
            self.keyring.destroy(key_id)
            destroyed.append(key_id)
        return Rotation(made=made, destroyed=destroyed)

    async def seal(self, session: AsyncSession, uid: str, content: bytes) -> bytes:
        """Seal a delivery to the current key (the bot's own, for messages it made itself
        from what it held before contacts were sealed)."""
        current = self.keyring.current()
        if current is None:
            raise CryptoError("the bot has no delivery key yet")
        return await seal_object(session, DELIVERY, uid, content, [Holder(current.key.public())])

    async def open(self, session: AsyncSession, uid: str, ciphertext: bytes) -> bytes:
        """A delivery blob's plaintext; CryptoError if no key the bot holds opens it."""
        rows = await session.execute(
            select(SealedKey.delivery_key_id, SealedKey.wrapped_key).where(
                SealedKey.kind == DELIVERY,
                SealedKey.object_uid == uid,
                SealedKey.delivery_key_id.is_not(None),
            )
        )
        for key_id, wrapped in rows:
            key = self.keyring.get(str(key_id))
            if key is None:
                continue
            return open_sealed(ciphertext, wrapped, key, object_id=uid, kind=DELIVERY)
        raise CryptoError("no delivery key the bot holds opens this message")
