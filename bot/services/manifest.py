"""A case as a signed manifest of sealed pieces: the server's half (docs/sealing.md).

Each answer that is testimony is sealed on its own when it arrives (kind "answer", one row of
`draft_pieces`), and the draft keeps only a reference to it: `{"piece": uid, "sha256": hex}`
(the SHA-256 of the ciphertext), plus `"voice": uid` when the answer is a voice message, so
that the file it names stays part of her case. At Submit the bot signs a manifest — the case's
uid, its header (code, schema version, time, language, consent, evidence and file list), the
path, uid and ciphertext SHA-256 of every piece, every file's uid and the SHA-256 of its
sealed header and record, and the dialogue's own values — with its intake key
(bot/crypto/intake.py) and seals it to the reviewers as the case (kind "case").
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from datetime import date
from hashlib import sha256
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.case import DETAINEE_FIELDS, TESTIFIER_FIELDS, CasePayload, Draft, FileRef
from bot.crypto.intake import IntakeSigner
from bot.draft_pieces import KIND, DraftPiece
from bot.models import Attachment, Case
from bot.sealing import Holder, seal_object
from bot.services.urgency import urgent_case

log = logging.getLogger(__name__)

# A sealed piece's plaintext is padded to a multiple of this many bytes, so that its length
# tells a seized server little more than "a short answer" or "a long one".
PAD = 64


def is_ref(value: Any) -> bool:
    """Whether a draft's value is a reference to a sealed piece (not her answer itself)."""
    return isinstance(value, dict) and isinstance(value.get("piece"), str)


def slots(draft: Draft) -> Iterator[tuple[str, Any, Any]]:
    """Every answer of the draft that is testimony: (path, its container, its key)."""
    for name in TESTIFIER_FIELDS:
        if name in draft["about"]:
            yield f"testifier.{name}", draft["about"], name
    for number, person in enumerate(draft["detainees"]):
        for name in DETAINEE_FIELDS:
            if name in person:
                yield f"detainees.{number}.{name}", person, name
    for number in range(len(draft["narrative"])):
        yield f"narrative.{number}", draft["narrative"], number


def pieces_named(value: Any) -> set[str]:
    """The uids of every piece a draft (or any stored JSON holding one) references."""
    if isinstance(value, dict):
        found = {value["piece"]} if is_ref(value) else set()
        for item in value.values():
            found |= pieces_named(item)
        return found
    if isinstance(value, list):
        return set().union(*(pieces_named(item) for item in value)) if value else set()
    return set()


def piece_plaintext(value: Any) -> bytes:
    """An answer's JSON form, padded with spaces to a multiple of PAD bytes."""
    plain = json.dumps(value, ensure_ascii=False).encode()
    return plain + b" " * (-len(plain) % PAD)


def ref_of(uid: str, sealed: bytes, value: Any) -> dict[str, str]:
    """The reference a draft keeps to a sealed answer."""
    ref = {"piece": uid, "sha256": sha256(sealed).hexdigest()}
    if isinstance(value, dict) and isinstance(value.get("voice"), str):
        ref["voice"] = value["voice"]
    return ref


async def seal_piece(
    session: AsyncSession, value: Any, holders: Sequence[Holder]
) -> dict[str, str]:
    """Seal one answer (its JSON form) to the holders; returns the reference the draft keeps."""
    uid = secrets.token_hex(16)
    sealed = await seal_object(session, KIND, uid, piece_plaintext(value), holders)
    session.add(DraftPiece(uid=uid, sealed=sealed))
    return ref_of(uid, sealed, value)


def file_digest(header: bytes, record: bytes | None) -> str:
    """What the manifest pins of a sealed file: SHA-256 of its stream header and its sealed
    record (which holds the plaintext's SHA-256 and size), without reading its chunks."""
    return sha256(header + (record or b"")).hexdigest()


def urgent_draft(draft: Draft, today: date) -> bool:
    """The "possibly urgent" bit: computed per person when the date was answered (its plaintext
    in memory then), or from the date itself in a draft kept the old way."""
    bits = any(person.get("urgent") for person in draft["detainees"])
    return bits or urgent_case({"detainees": draft["detainees"]}, today)


async def seal_manifest(
    session: AsyncSession,
    signer: IntakeSigner,
    case: Case,
    locale: str,
    draft: Draft,
    files: Sequence[Attachment],
    holders: Sequence[Holder],
) -> bytes:
    """Sign and seal the case's manifest, and make its pieces the case's. An answer still kept
    in the draft itself (a draft begun before revision 0015) is sealed as a piece here."""
    entries = []
    for path, container, key in slots(draft):
        value = container[key]
        # A copy, never the draft: if this transaction fails, her draft stays as it was.
        ref = value if is_ref(value) else await seal_piece(session, value, holders)
        entries.append({"path": path, "uid": ref["piece"], "sha256": ref["sha256"]})
    controls = [
        {"path": f"detainees.{number}.another", "value": person["another"]}
        for number, person in enumerate(draft["detainees"])
        if "another" in person
    ]
    bare: Any = {
        **draft,
        "about": {},
        "detainees": [{} for _person in draft["detainees"]],
        "narrative": [],
    }
    header = CasePayload.from_draft(case.code, locale, bare, [FileRef.of(f) for f in files])
    heading = header.to_json()
    for part in ("testifier", "detainees", "narrative"):
        heading.pop(part, None)
    manifest = {
        "case": case.uid,
        "header": heading,
        "pieces": entries,
        "controls": controls,
        "files": [
            {"uid": f.uid, "kind": f.kind, "sha256": file_digest(f.header, f.record)} for f in files
        ],
    }
    uids = [entry["uid"] for entry in entries]
    if uids:
        linked = await session.execute(
            update(DraftPiece)
            .where(DraftPiece.uid.in_(uids), DraftPiece.case_id.is_(None))
            .values(case_id=case.id)
        )
        if int(getattr(linked, "rowcount", 0) or 0) != len(set(uids)):
            # Reviewer tools will say which; the case is still sealed with what there is.
            log.error("a submitted draft names sealed answers that are not there")
    return await seal_object(session, "case", case.uid, signer.sign(manifest), holders)
