"""One sealing path: any object sealed to its holders, one wrapped key per holder in one table.

Every sealed object — case payload, attachment, note, question, and any kind added later — is
sealed by `seal_object` and keeps its wrapped data keys in `sealed_keys` (docs/sealing.md), so
rewrap, shredding and backups reach every kind by construction. This is the server's half: it
seals and looks keys up, it never opens (reviewer tools open in bot/reviewing/opening.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol, overload

from sqlalchemy import ColumnElement, and_, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.crypto import CryptoError, RecipientPublicKey, StreamSealer, seal
from bot.draft_pieces import DraftPiece
from bot.models import Attachment, Case, CaseNote, Delivery, FollowUp, SealedKey

# Every kind of sealed object: the column holding its uid and the column naming its case.
# A new kind is added here, and shredding a case and sweeping orphans then cover it.
KINDS: dict[str, tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]] = {
    # A case: the signed manifest of its pieces (or, before revision 0015, the whole record).
    "case": (Case.uid, Case.id),
    # One answer of hers, sealed as it arrived (`draft_pieces`); the case's once submitted.
    "answer": (DraftPiece.uid, DraftPiece.case_id),
    "attachment": (Attachment.uid, Attachment.case_id),
    # A file's sealed record (sha256, size, MIME, name: bot/file_record.py), same uid.
    "file_record": (Attachment.uid, Attachment.case_id),
    "note": (CaseNote.uid, CaseNote.case_id),
    "question": (FollowUp.uid, FollowUp.case_id),
    # Her chat id and language (`cases.contact`), sealed to the reviewers, same uid as the case.
    "contact": (Case.uid, Case.id),
    # A question or notice on its way to her, sealed to the bot's delivery key only.
    "delivery": (Delivery.uid, Delivery.case_id),
}


@dataclass(frozen=True)
class Holder:
    """Who gets a wrapped data key: a reviewer's `recipients` row (`recipient_id`), or the
    bot's delivery key, which is no row of `recipients` (`recipient_id` None)."""

    key: RecipientPublicKey
    recipient_id: int | None = None


class SealedStream:
    """A file being sealed: its header at once, its sealed chunks as they are read."""

    def __init__(self, sealer: StreamSealer, source: BinaryIO) -> None:
        self._sealer = sealer
        self._source = source
        self.header = sealer.header()

    def __iter__(self) -> Iterator[bytes]:
        return self._sealer.seal_chunks(self._source)

    @property
    def size(self) -> int:
        return self._sealer.plaintext_size

    @property
    def sha256(self) -> str:
        return self._sealer.plaintext_sha256


@overload
async def seal_object(
    session: AsyncSession, kind: str, uid: str, content: bytes, holders: Sequence[Holder]
) -> bytes: ...


@overload
async def seal_object(
    session: AsyncSession, kind: str, uid: str, content: BinaryIO, holders: Sequence[Holder]
) -> SealedStream: ...


async def seal_object(
    session: AsyncSession,
    kind: str,
    uid: str,
    content: bytes | BinaryIO,
    holders: Sequence[Holder],
) -> bytes | SealedStream:
    """Seal an object of any kind to its holders and store one wrapped key per holder.

    Bytes give the sealed object; a file gives a `SealedStream` to read its chunks from (64 KiB
    STREAM chunks, never the whole file in memory)."""
    if kind not in KINDS:
        raise CryptoError(f"unknown kind of sealed object {kind!r}: add it to bot.sealing.KINDS")
    keys = [holder.key for holder in holders]
    if isinstance(content, bytes):
        sealed = seal(content, keys, object_id=uid, kind=kind)
        _keep(session, kind, uid, sealed.wrapped_keys, holders)
        return sealed.ciphertext
    sealer = StreamSealer(keys, object_id=uid, kind=kind)
    _keep(session, kind, uid, sealer.wrapped_keys, holders)
    return SealedStream(sealer, content)


class _Adds(Protocol):
    def add(self, instance: Any) -> None: ...


class _Rows(list[Any]):
    """Wrapped-key rows handed back instead of added to a session (`seal_rows`)."""

    def add(self, instance: Any) -> None:
        self.append(instance)


def seal_rows(
    kind: str, uid: str, content: bytes, holders: Sequence[Holder]
) -> tuple[bytes, list[SealedKey]]:
    """Seal bytes as `seal_object` does, but hand back the wrapped-key rows for a writer that
    writes them itself in its own transaction (her answers' fast path on SQLite)."""
    if kind not in KINDS:
        raise CryptoError(f"unknown kind of sealed object {kind!r}: add it to bot.sealing.KINDS")
    sealed = seal(content, [holder.key for holder in holders], object_id=uid, kind=kind)
    rows = _Rows()
    _keep(rows, kind, uid, sealed.wrapped_keys, holders)
    return sealed.ciphertext, list(rows)


def keep_wrapped(
    session: _Adds,
    kind: str,
    uid: str,
    wrapped_keys: dict[str, bytes],
    holders: Sequence[Holder],
) -> None:
    """Keep wrapped keys made elsewhere — by a reviewer's tools, carried in a request she
    signed — as `seal_object` keeps its own: one row per holder, by key id."""
    if kind not in KINDS:
        raise CryptoError(f"unknown kind of sealed object {kind!r}: add it to bot.sealing.KINDS")
    _keep(session, kind, uid, wrapped_keys, holders)


def seal_stream_rows(
    kind: str, uid: str, content: BinaryIO, holders: Sequence[Holder]
) -> tuple[SealedStream, list[SealedKey]]:
    """Seal a file as `seal_object` does, but hand back the wrapped-key rows for a writer that
    writes them itself in its own transaction (her draft's files' fast path on SQLite)."""
    if kind not in KINDS:
        raise CryptoError(f"unknown kind of sealed object {kind!r}: add it to bot.sealing.KINDS")
    sealer = StreamSealer([holder.key for holder in holders], object_id=uid, kind=kind)
    rows = _Rows()
    _keep(rows, kind, uid, sealer.wrapped_keys, holders)
    return SealedStream(sealer, content), list(rows)


def _keep(
    session: _Adds,
    kind: str,
    uid: str,
    wrapped_keys: dict[str, bytes],
    holders: Sequence[Holder],
) -> None:
    """The one place a wrapped key is written."""
    for holder in holders:
        session.add(
            SealedKey(
                kind=kind,
                object_uid=uid,
                recipient_id=holder.recipient_id,
                delivery_key_id=None if holder.recipient_id is not None else holder.key.key_id,
                wrapped_key=wrapped_keys[holder.key.key_id],
            )
        )


async def wrapped_for(
    session: AsyncSession,
    kind: str,
    uid: str,
    *,
    recipient_id: int | None = None,
    delivery_key_id: str | None = None,
) -> bytes | None:
    """The object's data key wrapped for one holder, or None if it was not sealed to it."""
    if (recipient_id is None) == (delivery_key_id is None):
        raise ValueError("name exactly one holder: a recipient row or a delivery key id")
    holder = (
        SealedKey.recipient_id == recipient_id
        if recipient_id is not None
        else SealedKey.delivery_key_id == delivery_key_id
    )
    return await session.scalar(
        select(SealedKey.wrapped_key).where(
            SealedKey.kind == kind, SealedKey.object_uid == uid, holder
        )
    )


async def drop_delivery_copies(session: AsyncSession, kind: str, uid: str) -> None:
    """Forget every copy of an object's key held by a delivery key, current or rotated: once
    delivered, the bot cannot read it again."""
    await session.execute(
        delete(SealedKey).where(
            SealedKey.kind == kind,
            SealedKey.object_uid == uid,
            SealedKey.delivery_key_id.is_not(None),
        )
    )


# Objects sealed beside another under its uid, deleted with it: a file and its record.
COMPANIONS: dict[str, tuple[str, ...]] = {"attachment": ("file_record",)}


async def drop_keys(session: AsyncSession, kind: str, uids: Iterable[str]) -> None:
    """Delete every wrapped key of these objects (they are being deleted), and of the objects
    sealed beside them (COMPANIONS)."""
    kinds = [kind, *COMPANIONS.get(kind, ())]
    await session.execute(
        delete(SealedKey).where(SealedKey.kind.in_(kinds), SealedKey.object_uid.in_(list(uids)))
    )


def of_case(case_id: int) -> ColumnElement[bool]:
    """The keys of every sealed object that belongs to a case, whatever its kind."""
    return or_(
        *(
            and_(
                SealedKey.kind == kind,
                SealedKey.object_uid.in_(select(uid).where(owner == case_id)),
            )
            for kind, (uid, owner) in KINDS.items()
        )
    )


def orphaned() -> ColumnElement[bool]:
    """Keys whose object is gone (deleted with a draft or an account, say)."""
    return or_(
        false(),
        *(
            # (uid IS NOT NULL: a NULL in NOT IN would make the test unknown for every row.)
            and_(
                SealedKey.kind == kind,
                SealedKey.object_uid.not_in(select(uid).where(uid.is_not(None))),
            )
            for kind, (uid, _owner) in KINDS.items()
        ),
    )
