"""A reviewer attributes a file the relative did not attribute: which person it is about and
what it is. Her guess, never the relative's words: it is a signed `assign` request the bot
applies into the audit log, and her tools read it back only with her signature verified
(an anchor by a reviewer's key the roster lists), marked as the team's attribution.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.choices import DOC_TYPES, attribution
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.intake import anchor_signed, sign_anchor
from bot.models import AuditEntry
from bot.reviewing.opening import ReviewError

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer

ASSIGNED = "file.assigned"
KIND = "assignment"


async def assign(reviewer: Reviewer, code: str, uid: str, person: int, doc_type: str) -> str:
    """Attribute one file of a case she left unattributed (a signed request)."""
    if doc_type not in dict(DOC_TYPES):
        raise ReviewError(f"the document type is one of {', '.join(dict(DOC_TYPES))}")
    opened = await reviewer.opened(code)
    people = len(opened.payload.get("detainees", []))
    if not 1 <= person <= people:
        raise ReviewError(f"case {opened.code} has {people} detained person(s)")
    evidence = {item.get("uid"): item for item in opened.payload.get("evidence", [])}
    item = evidence.get(uid)
    if item is None:
        raise ReviewError(f"case {opened.code} has no file {uid} among her evidence")
    if item.get("person") is not None and not item.get("assigned_by"):
        raise ReviewError("she said herself which person this file is about: it stays hers")
    anchor = sign_anchor(
        reviewer.key.signing_key(), KIND, uid, opened.code, attribution(person, doc_type)
    )
    body = {"case": opened.code, "file": uid, "person": person, "doc_type": doc_type}
    return await reviewer.requests.submit("assign", body | {"anchor": anchor})


async def apply_assignments(
    session: AsyncSession, code: str, payload: dict[str, Any], reviewers: frozenset[str]
) -> None:
    """Fill in, on the files she did not attribute, the team's latest signed attribution —
    only what she left empty, never over her own words — and mark it (`assigned_by`: the
    signing key's fingerprint, from the signature, never the log's unsigned actor column).
    Rows whose signature does not hold are ignored."""
    rows = await session.scalars(
        select(AuditEntry.detail)
        .where(AuditEntry.action == ASSIGNED, AuditEntry.target == code)
        .order_by(AuditEntry.id)
    )
    evidence = {item.get("uid"): item for item in payload.get("evidence", [])}
    hers = {uid: (item.get("person"), item.get("doc_type")) for uid, item in evidence.items()}
    for raw in rows:
        detail = json.loads(raw)
        uid = detail.get("file")
        item = evidence.get(uid)
        person, doc_type = detail.get("person"), detail.get("doc_type")
        if item is None or hers[uid][0] is not None or not isinstance(person, int):
            continue
        if not anchor_signed(
            detail, KIND, str(uid), code, attribution(person, str(doc_type)), set(reviewers)
        ):
            continue
        signer = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(detail["signer"])))
        item.update(person=person, assigned_by=signer_fingerprint(signer)[:16])
        item["doc_type"] = hers[uid][1] or doc_type
