"""What each kind of reviewer request asks the bot to write, and what it checks first.

Called by bot/services/reviewer_requests.py once the request's signature, signer, team, age
and audit head hold; each function raises `Refused` before writing anything it would not
keep (and runs in a savepoint, so a late refusal leaves nothing behind). Wrapped keys name
their holder by key id, so a request made on a copy of the database applies to this one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import CryptoError, open_sealed
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.intake import anchor_signed
from bot.crypto.requests import Request, RequestError, unb64
from bot.crypto.roster import Reviewer
from bot.models import (
    Case,
    CaseNote,
    CaseStatus,
    Delivery,
    DeliveryState,
    FollowUp,
    Notice,
    Recipient,
    SealedKey,
    utcnow,
)
from bot.sealing import KINDS as SEALED_KINDS
from bot.sealing import Holder, keep_wrapped
from bot.services import audit
from bot.services.delivery import NOTICE, QUESTION
from bot.services.delivery_keys import DELIVERY
from bot.states import Grade

if TYPE_CHECKING:
    from bot.services.delivery_keys import DeliveryKeys
    from bot.services.team import TeamRoster

# A relative who agreed to contact hears of these changes (code and status only).
TOLD = (CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)
MAX_ROWS = 200  # wrapped keys per rewrap request
# Audit events a reviewer's tools report, and the detail each may carry.
EVENTS: dict[str, frozenset[str]] = {
    "case.viewed": frozenset(),
    "review.refused": frozenset({"reason"}),
    "seal.refused": frozenset({"what", "reason", "fingerprint"}),
    "delivery_key.refused": frozenset({"reason", "pinned"}),
    "export": frozenset(
        {
            "exported",
            "files",
            "excluded_by_consent",
            "unreadable",
            "withheld_files",
            "partner",
            "cases",
            "sha256",
        }
    ),
    "wgeid.draft": frozenset({"person"}),
}
MAX_EVENT_DETAIL = 1 << 19


class Refused(Exception):
    """The request is not applied; `alert`: it looks forged or made against another log."""

    def __init__(self, reason: str, *, alert: bool = False) -> None:
        super().__init__(reason)
        self.alert = alert


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
        digest = audit.anchor(sealed)
        signing = self.signer.signing
        assert signing is not None  # noqa: S101 - a request's signer has a signing key
        if not isinstance(anchor, dict) or not anchor_signed(
            anchor, kind, uid, code, digest, {signer_fingerprint(signing)}
        ):
            raise Refused(f"the {kind}'s anchor is not signed by the request's signer")
        return digest

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
            raise Refused("the message to the relative does not open", alert=True) from None
        if not isinstance(plain, dict) or plain.get("code") != code:
            raise Refused("the message to the relative is about another case", alert=True)
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


def _anchor(anchor: dict[str, Any]) -> dict[str, str]:
    """The signed anchor as the log keeps it (bot/crypto/intake.py `sign_anchor`), no more."""
    return {name: str(anchor[name]) for name in ("kind", "uid", "signer", "signature")}


async def decision(w: Writer) -> None:
    """Status and grade, her sealed note, and the relative's notice if she is told."""
    case = await w.live_case()
    try:
        status = CaseStatus(w.text("status", limit=32))
    except ValueError:
        raise Refused("unknown status") from None
    if status == CaseStatus.WITHDRAWN:
        raise Refused("only the relative can withdraw a case")
    grade = w.body.get("grade")
    if grade is not None and grade not in {g.value for g in Grade}:
        raise Refused("unknown grade")
    uid = w.text("uid", limit=32)
    note, detail = w.body.get("note"), {}
    sealed_note = None
    if note is not None:
        if not isinstance(note, dict):
            raise Refused("the note cannot be read")
        sealed_note = w.blob("sealed", note)
        wrapped = w.team_keys(note, "the note")
        digest = w.check_anchor("note", uid, case.code, sealed_note, note.get("anchor"))
        w.keep("note", uid, wrapped)
        detail = {"note": uid, "sealed": digest} | _anchor(note["anchor"])
    notice = w.body.get("notice")
    message = None
    if notice is not None:
        if status not in TOLD or not case.consent_contact or case.contact is None:
            raise Refused("the relative is not told of this change")
        plain, message = w.message(notice, case.code)
        if plain.get("status") != status.value:
            raise Refused("the notice names another status", alert=True)
    case.status = status
    case.grade = Grade(grade) if grade else case.grade
    w.session.add(
        CaseNote(
            case_id=case.id,
            uid=uid,
            reviewer=w.actor,
            status=status.value,
            grade=case.grade,
            sealed_note=sealed_note,
        )
    )
    if message is not None:
        told = Notice(case_id=case.id, status=status.value)
        w.session.add(told)
        await w.session.flush()
        w.queue(case, NOTICE, told.id, message)
    await w.record("case.status", case.code, {"status": status.value, "grade": case.grade} | detail)


async def question(w: Writer) -> None:
    """A follow-up question sealed to the team, and its delivery to her."""
    case = await w.live_case()
    if not case.consent_contact or case.contact is None:
        raise Refused(f"case {case.code}: the relative did not agree to follow-up questions")
    uid = w.text("uid", limit=32)
    sealed = w.blob("sealed", w.body)
    wrapped = w.team_keys(w.body, "the question")
    digest = w.check_anchor("question", uid, case.code, sealed, w.body.get("anchor"))
    elements = w.body.get("elements") or []
    if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
        raise Refused("the question's elements cannot be read")
    token_hash = w.text("token_hash", limit=64)
    plain, message = w.message(w.body.get("delivery"), case.code)
    if hashlib.sha256(str(plain.get("token", "")).encode()).hexdigest() != token_hash:
        raise Refused("the answer button's token is not the one kept", alert=True)
    w.keep("question", uid, wrapped)
    followup = FollowUp(
        case_id=case.id,
        uid=uid,
        asked_by=w.actor,
        elements=",".join(elements)[:128],
        sealed_question=sealed,
        token_hash=token_hash,
    )
    w.session.add(followup)
    await w.session.flush()
    w.queue(case, QUESTION, followup.id, message)
    case.status = CaseStatus.NEEDS_INFO
    await w.record(
        "followup.asked", case.code, {"question": uid, "sealed": digest} | _anchor(w.body["anchor"])
    )


async def link(w: Writer) -> None:
    """One case marked as a duplicate of another; both testimonies are kept."""
    case, first = await w.case(), await w.case("of")
    if case.id == first.id:
        raise Refused("a case cannot duplicate itself")
    case.duplicate_of = first.id
    await w.record("case.duplicate", case.code, {"of": first.code})


async def _own_row(w: Writer) -> Recipient:
    mine = await w.session.scalar(select(Recipient).where(Recipient.key_id == w.actor))
    if mine is None:
        raise Refused("the signer has no look-up row")
    return mine


async def rewrap(w: Writer) -> None:
    """Data keys she can open, wrapped for another reviewer of the roster."""
    roster = w.team.roster
    assert roster is not None  # noqa: S101 - checked before any kind runs
    target = roster.reviewer(w.text("to", limit=80))
    if target is None:
        raise Refused("the new reviewer is not in the roster")
    holders = {holder.key.key_id: holder.recipient_id for holder in w.team.holders()}
    target_row = holders.get(target.key.key_id)
    rows = w.body.get("rows")
    if target_row is None or not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise Refused("the rewrap batch cannot be read")
    mine = await _own_row(w)
    added = 0
    for item in rows:
        if not isinstance(item, dict):
            raise Refused("a rewrapped key cannot be read")
        kind, uid = w.text("kind", body=item, limit=16), w.text("uid", body=item, limit=32)
        if kind not in SEALED_KINDS or kind == DELIVERY:
            raise Refused(f"no rewrap for {kind}")
        held = select(SealedKey.id).where(SealedKey.kind == kind, SealedKey.object_uid == uid)
        if await w.session.scalar(held.where(SealedKey.recipient_id == mine.id)) is None:
            raise Refused("a key the signer does not hold herself")
        if await w.session.scalar(held.where(SealedKey.recipient_id == target_row)) is not None:
            continue
        w.session.add(
            SealedKey(
                kind=kind,
                object_uid=uid,
                recipient_id=target_row,
                wrapped_key=w.blob("wrapped", item),
            )
        )
        added += 1
    await w.record("key.rewrapped", target.key.key_id, {"objects": added, "from": w.actor})


def held_digest(pairs: list[tuple[str, str]]) -> str:
    """What a revocation names of the departed key's objects: SHA-256 of "kind\\nuid" lines,
    sorted (the reviewer's tools and the bot compute it alike)."""
    lines = sorted(f"{kind}\n{uid}" for kind, uid in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


async def revoke(w: Writer) -> None:
    """A departed reviewer's wrapped keys dropped, once the signer checked she holds each."""
    departed = w.text("departed", limit=64)
    if departed in {holder.key.key_id for holder in w.team.holders()}:
        raise Refused("that key is still in the roster")
    row = await w.session.scalar(select(Recipient).where(Recipient.key_id == departed))
    if row is None:
        raise Refused(f"no key {departed}")
    mine = await _own_row(w)
    held = list(
        await w.session.execute(
            select(SealedKey.kind, SealedKey.object_uid).where(SealedKey.recipient_id == row.id)
        )
    )
    pairs = [(str(kind), str(uid)) for kind, uid in held]
    if held_digest(pairs) != w.body.get("held_sha256"):
        raise Refused("the departed key holds other objects than were checked: check again")
    own = set(
        await w.session.execute(
            select(SealedKey.kind, SealedKey.object_uid).where(SealedKey.recipient_id == mine.id)
        )
    )
    if any(pair not in own for pair in held):
        raise Refused("some objects of the departed key the signer does not hold")
    await w.session.execute(delete(SealedKey).where(SealedKey.recipient_id == row.id))
    row.active, row.retired_at = False, row.retired_at or utcnow()
    await w.record("key.revoked", departed, {"objects": len(held), "by": w.actor})


async def event(w: Writer) -> None:
    """Something her tools did or refused, for the log."""
    action = w.text("action", limit=64)
    allowed = EVENTS.get(action)
    detail = w.body.get("detail") or {}
    if allowed is None or not isinstance(detail, dict) or set(detail) - allowed:
        raise Refused(f"no such event {action}")
    if len(json.dumps(detail)) > MAX_EVENT_DETAIL:
        raise Refused("the event's detail is too large")
    target = w.body.get("target")
    if target is not None and (not isinstance(target, str) or len(target) > 64):
        raise Refused("the event's target cannot be read")
    await w.record(action, target, detail)


async def head(w: Writer) -> None:
    """The audit log's head her tools verified, signed: an anchor outside the bot's hands
    (the signed request stays in `reviewer_requests`)."""
    assert w.request.head is not None  # noqa: S101 - checked before any kind runs
    row, digest = w.request.head
    await w.record("audit.head", str(row), {"sha256": digest})


KINDS: dict[str, Callable[[Writer], Awaitable[None]]] = {
    "decision": decision,
    "question": question,
    "link": link,
    "rewrap": rewrap,
    "revoke": revoke,
    "event": event,
    "head": head,
}
