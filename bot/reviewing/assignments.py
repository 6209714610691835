"""A reviewer attributes a file the relative did not attribute: which person it is about and
what it is. Her guess, never the relative's words: it is a signed `assign` request the bot
applies into the audit log, and her tools read it back only with her signature verified
(an anchor by a reviewer's key the roster lists), marked as the team's attribution.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.choices import DOC_TYPES, attribution
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
    """Mark the files she did not attribute with the team's latest signed attribution
    (`assigned_by`: the reviewer's key id); rows whose signature does not hold are ignored."""
    rows = await session.execute(
        select(AuditEntry.actor, AuditEntry.detail)
        .where(AuditEntry.action == ASSIGNED, AuditEntry.target == code)
        .order_by(AuditEntry.id)
    )
    evidence = {item.get("uid"): item for item in payload.get("evidence", [])}
    for actor, raw in rows:
        detail = json.loads(raw)
        item = evidence.get(detail.get("file"))
        if item is None or (item.get("person") is not None and not item.get("assigned_by")):
            continue
        person, doc_type = detail.get("person"), detail.get("doc_type")
        if not isinstance(person, int) or not anchor_signed(
            detail,
            KIND,
            str(detail.get("file")),
            code,
            attribution(person, str(doc_type)),
            set(reviewers),
        ):
            continue
        item.update(person=person, doc_type=doc_type, assigned_by=actor)
