"""Reaching the relative: open her sealed contact and seal a message to the bot's delivery key.

Her contact (chat id and language, `cases.contact`) is opened here, in memory, and goes only
into a delivery sealed to the bot's delivery key — never shown, printed or exported. The
delivery key is taken from the certificate the bot publishes, and only if the bot's signing
key that the reviewer pinned (AIGAQ_INBOX_FINGERPRINT) certified it and it is valid now; a
refusal is audited, and nothing is sealed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import RecipientPublicKey, normalise_fingerprint, seal
from bot.crypto.delivery import CertificateError, verify_certificate
from bot.crypto.requests import b64
from bot.models import Case, Setting, utcnow
from bot.reviewing.opening import ReviewError, open_object
from bot.services.delivery_keys import CERTIFICATE, DELIVERY

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer


class Contact:
    """A reviewer's way to the relative of a case, through the bot's delivery key."""

    def __init__(self, reviewer: Reviewer, pinned: str | None) -> None:
        self._reviewer = reviewer
        self._pin = normalise_fingerprint(pinned) if pinned else None

    async def delivery_key(self, now: datetime | None = None) -> RecipientPublicKey:
        """The bot's current delivery key, certified by the pinned signing key and valid now.

        Read in a session of its own, before the caller's transaction: a refusal is audited
        while nothing else holds the database."""
        if self._pin is None:
            # Not in her settings: the signed roster she pinned may name it.
            named = await self._reviewer.pinned_signer("delivery")
            self._pin = normalise_fingerprint(named) if named else None
        if self._pin is None:
            raise ReviewError(
                "no pinned delivery signing key: neither AIGAQ_INBOX_FINGERPRINT nor the team "
                "roster names the fingerprint that `aigaq keys inbox` prints on the bot's server "
                "(set it after comparing it in person or by a channel you trust, or ask an admin "
                "to sign it into the roster: `aigaq keys roster sign --delivery`); nothing was "
                "sealed"
            )
        async with self._reviewer._sessionmaker() as session:
            row = await session.get(Setting, CERTIFICATE)
        if row is None:
            await self._refused("none published")
            raise ReviewError(
                "the bot has published no delivery key yet (start it once); nothing was sealed"
            )
        try:
            return verify_certificate(row.value, self._pin, now or utcnow()).key
        except CertificateError as exc:
            await self._refused(str(exc))
            raise ReviewError(
                f"{exc}. Nothing was sealed to it. If the bot's signing key was replaced, ask "
                "for the new fingerprint (`aigaq keys inbox` on the server) by a channel you "
                "trust; otherwise someone changed the database"
            ) from None

    async def _refused(self, reason: str) -> None:
        await self._reviewer.requests.event(
            "delivery_key.refused", reason=reason[:160], pinned=(self._pin or "")[:16]
        )

    async def of(self, session: AsyncSession, case: Case) -> dict[str, Any] | None:
        """Her contact, opened with this reviewer's key; None if she gave none."""
        if case.contact is None or not case.consent_contact:
            return None
        plain = await open_object(
            session,
            self._reviewer.key,
            "contact",
            case.uid,
            case.contact,
            name=f"the contact of case {case.code}",
        )
        contact = json.loads(plain)
        if not isinstance(contact, dict) or not isinstance(contact.get("chat"), int):
            raise ReviewError(f"the contact of case {case.code} cannot be read")
        return contact

    def message(
        self, contact: Mapping[str, Any], key: RecipientPublicKey, message: Mapping[str, Any]
    ) -> dict[str, str]:
        """A message to her (her chat, her language and the message) sealed to the delivery
        key only, as a request carries it: the bot opens it to send it, then deletes it."""
        uid = secrets.token_hex(16)
        content = {"chat": contact["chat"], "locale": contact.get("locale") or "", **message}
        sealed = seal(
            json.dumps(content, ensure_ascii=False).encode(), [key], object_id=uid, kind=DELIVERY
        )
        return {
            "uid": uid,
            "sealed": b64(sealed.ciphertext),
            "key_id": key.key_id,
            "wrapped": b64(sealed.wrapped_keys[key.key_id]),
        }
