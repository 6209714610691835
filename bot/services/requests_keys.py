"""Reviewer requests about wrapped keys: a rewrap batch for a new reviewer, a revocation of
a departed one's (called by bot/services/requests_apply.py, under the same checks)."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select

from bot.models import Recipient, SealedKey, utcnow
from bot.sealing import KINDS as SEALED_KINDS
from bot.services.delivery_keys import DELIVERY
from bot.services.request_writer import Refused, Writer

MAX_ROWS = 200  # wrapped keys per rewrap request


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
