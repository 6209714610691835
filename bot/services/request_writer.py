"""One reviewer request being applied: the bot's transaction, the verified request and its
signer, and the checks every kind shares (bot/services/requests_apply.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import CryptoError, open_sealed
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.intake import anchor_signed
from bot.crypto.requests import Request, RequestError, unb64
from bot.crypto.roster import Reviewer
from bot.models import Case, CaseStatus, Delivery, DeliveryState
from bot.sealing import Holder, keep_wrapped
from bot.services import audit
from bot.services.delivery_keys import DELIVERY

if TYPE_CHECKING:
    from bot.services.delivery_keys import DeliveryKeys
    from bot.services.team import TeamRoster


class Refused(Exception):
    """The request is not applied, for this reason (audited)."""


@dataclass(frozen=True)
class Message:
    """A message to the relative as a request carries it, sealed to the bot's delivery key."""

    uid: str
    sealed: bytes
    wrapped: dict[str, bytes]  # by delivery key id
    holder: Holder


@dataclass
class Writer:
    """One request being applied, in the bot's transaction."""

    session: AsyncSession
    request: Request
    signer: Reviewer
    team: TeamRoster
    delivery_keys: DeliveryKeys

    @property
    def body(self) -> dict[str, Any]:
        return self.request.body

    @property
    def actor(self) -> str:
        return self.signer.key.key_id

    def text(self, name: str, *, body: dict[str, Any] | None = None, limit: int = 200) -> str:
        value = (self.body if body is None else body).get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            raise Refused(f"the request's {name} is missing or cannot be read")
        return value

    def blob(self, name: str, body: dict[str, Any]) -> bytes:
        try:
            return unb64(body.get(name), name)
        except RequestError as exc:
            raise Refused(str(exc)) from None

    async def case(self, name: str = "case") -> Case:
        code = self.text(name, limit=32).upper()
        case = await self.session.scalar(select(Case).where(Case.code == code))
        if case is None:
            raise Refused(f"no case {code}")
        return case

    async def live_case(self) -> Case:
        case = await self.case()
        if case.status == CaseStatus.WITHDRAWN:
            raise Refused(f"case {case.code} was withdrawn")
        return case

    def team_keys(self, sealed: dict[str, Any], what: str) -> dict[str, bytes]:
        """The wrapped keys of an object sealed to the team: exactly the roster's reviewers
        the bot seals to (by key id)."""
        keys = sealed.get("keys")
        if not isinstance(keys, dict):
            raise Refused(f"{what}: no wrapped keys")
        holders = {holder.key.key_id for holder in self.team.holders()}
        if set(keys) - holders:
            raise Refused(f"{what}: sealed to a key the roster does not list")
        if holders - set(keys):
            raise Refused(f"{what}: the roster changed since it was sealed; decide again")
        return {key_id: self.blob(key_id, keys) for key_id in sorted(keys)}

    def check_anchor(self, kind: str, uid: str, code: str, sealed: bytes, anchor: Any) -> str:
        """A sealed object's anchor, signed by the request's signer; its digest."""
        digest = audit.anchor(sealed)
        self.check_signed(kind, uid, code, digest, anchor)
        return digest

    def check_signed(self, kind: str, uid: str, code: str, digest: str, anchor: Any) -> None:
        signing = self.signer.signing
        assert signing is not None  # noqa: S101 - a request's signer has a signing key
        if not isinstance(anchor, dict) or not anchor_signed(
            anchor, kind, uid, code, digest, {signer_fingerprint(signing)}
        ):
            raise Refused(f"the {kind}'s anchor is not signed by the request's signer")

    def keep(self, kind: str, uid: str, wrapped: dict[str, bytes]) -> None:
        keep_wrapped(self.session, kind, uid, wrapped, self.team.holders())

    def message(self, delivery: Any, code: str) -> tuple[dict[str, Any], Message]:
        """A message to the relative, sealed to a delivery key the bot holds: opened here
        only to check it is about this case (the sender opens it again to send it)."""
        if not isinstance(delivery, dict):
            raise Refused("the message to the relative cannot be read")
        uid = self.text("uid", body=delivery, limit=32)
        key_id = self.text("key_id", body=delivery, limit=64)
        sealed, wrapped = self.blob("sealed", delivery), self.blob("wrapped", delivery)
        key = self.delivery_keys.keyring.get(key_id)
        if key is None:
            raise Refused("sealed to a delivery key the bot no longer holds: ask again")
        try:
            plain = json.loads(open_sealed(sealed, wrapped, key, object_id=uid, kind=DELIVERY))
        except (CryptoError, ValueError):
            raise Refused("the message to the relative does not open") from None
        if not isinstance(plain, dict) or plain.get("code") != code:
            raise Refused("the message to the relative is about another case")
        return plain, Message(uid, sealed, {key_id: wrapped}, Holder(key.public()))

    def queue(self, case: Case, kind: str, subject_id: int, message: Message) -> None:
        """Into the outbox, as the bot's own messages to her are queued."""
        keep_wrapped(self.session, DELIVERY, message.uid, message.wrapped, [message.holder])
        self.session.add(
            Delivery(
                kind=kind,
                subject_id=subject_id,
                case_id=case.id,
                uid=message.uid,
                sealed=message.sealed,
                locale="",
                state=DeliveryState.PENDING,
                attempts=0,
            )
        )

    async def record(self, action: str, target: str | None, detail: dict[str, Any]) -> None:
        await audit.record(
            self.session,
            actor=self.actor,
            action=action,
            target=target,
            detail=detail | {"request": self.request.digest},
        )
