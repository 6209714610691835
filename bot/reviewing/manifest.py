"""A case sealed as a signed manifest, opened on the reviewer's machine: its signature checked
against the bot's intake key she pinned, every piece and file checked against the SHA-256 the
manifest gives, the pieces opened with her key and put together into the case record
(`CasePayload.assemble`). Anything that does not match is refused, saying what and where.
"""

from __future__ import annotations

import json
from hashlib import sha256
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case import CasePayload
from bot.crypto import CryptoError, open_sealed
from bot.crypto.intake import ManifestError, verify_manifest
from bot.draft_pieces import KIND, DraftPiece
from bot.models import Attachment, Recipient, SealedKey
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import NotSealedToYou, ReviewError
from bot.services.manifest import file_digest


async def assemble_case(
    session: AsyncSession,
    key: ReviewerKey,
    case_id: int,
    code: str,
    uid: str,
    raw: dict[str, Any],
    pinned: str | None,
) -> CasePayload:
    """The case record a signed manifest describes; ReviewError if anything was changed."""
    try:
        manifest = verify_manifest(raw, pinned)
    except ManifestError as exc:
        raise ReviewError(f"case {code} is refused: {exc}") from None
    if manifest.get("case") != uid:
        raise ReviewError(
            f"case {code} is refused: its manifest was signed for another case "
            "(someone moved it in the database)"
        )
    entries = manifest.get("pieces", [])
    uids = [entry["uid"] for entry in entries]
    rows = {
        row.uid: row
        for row in await session.scalars(select(DraftPiece).where(DraftPiece.uid.in_(uids)))
    }
    mine = await session.scalar(select(Recipient.id).where(Recipient.key_id == key.key_id))
    wrapped = dict(
        (row_uid, wrapped_key)
        for row_uid, wrapped_key in await session.execute(
            select(SealedKey.object_uid, SealedKey.wrapped_key).where(
                SealedKey.kind == KIND,
                SealedKey.object_uid.in_(uids),
                SealedKey.recipient_id == mine,
            )
        )
    )
    pieces: list[tuple[str, Any]] = []
    for entry in entries:
        path, piece_uid = entry["path"], entry["uid"]
        row = rows.get(piece_uid)
        if row is None or row.case_id != case_id:
            raise ReviewError(
                f"case {code} is refused: its answer {path} (piece {piece_uid}) is missing "
                "from the database or belongs to another case"
            )
        if sha256(row.sealed).hexdigest() != entry["sha256"]:
            raise ReviewError(
                f"case {code} is refused: its answer {path} (piece {piece_uid}) was changed "
                "in the database: its SHA-256 does not match the signed manifest"
            )
        if piece_uid not in wrapped:
            raise NotSealedToYou(f"the answer {path} of case {code}", key.key_id)
        try:
            plain = open_sealed(row.sealed, wrapped[piece_uid], key, object_id=piece_uid, kind=KIND)
        except CryptoError as exc:
            raise ReviewError(f"case {code}: its answer {path} cannot be opened: {exc}") from None
        pieces.append((path, json.loads(plain)))
    pieces += [(control["path"], control["value"]) for control in manifest.get("controls", [])]
    await _check_files(session, code, case_id, manifest.get("files", []))
    try:
        record = CasePayload.assemble(manifest["header"], pieces)
    except (KeyError, ValueError) as exc:  # pydantic's ValidationError included
        raise ReviewError(f"case {code} cannot be read as a case record: {exc}") from None
    if record.code != code:
        raise ReviewError(
            f"the testimony sealed for case {record.code} sits under case {code}: "
            "someone moved it in the database"
        )
    return record


async def _check_files(
    session: AsyncSession, code: str, case_id: int, files: list[dict[str, Any]]
) -> None:
    """Every file the manifest names is the case's, with the header and record it pinned."""
    if not files:
        return
    rows = {
        row_uid: (owner, header, record)
        for row_uid, owner, header, record in await session.execute(
            select(Attachment.uid, Attachment.case_id, Attachment.header, Attachment.record).where(
                Attachment.uid.in_([item["uid"] for item in files])
            )
        )
    }
    for item in files:
        found = rows.get(item["uid"])
        if found is None or found[0] != case_id:
            raise ReviewError(
                f"case {code} is refused: its file {item['uid']} is missing from the database "
                "or belongs to another case"
            )
        if file_digest(found[1], found[2]) != item["sha256"]:
            raise ReviewError(
                f"case {code} is refused: its file {item['uid']} was changed in the database: "
                "its SHA-256 does not match the signed manifest"
            )
