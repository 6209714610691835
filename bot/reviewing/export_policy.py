"""What may leave a reviewer's machine: the partner-export field policy and safe CSV cells.

`POLICY` is the one table: for every field of a `CasePayload` (nested ones as
`part.field`), the consent levels under which a partner export (no `--internal`) carries
it. Default deny: `disclosed()` drops a field without a row, so a new question, or a new
piece of provenance such as where a message was forwarded from, stays with the team until it
gets one. Every format (CSV, xlsx, JSON Lines, the bundle, the console's downloads) reads a
case through `disclosed()`. docs/export.md shows the table (a test checks it matches).
"""

from __future__ import annotations

from typing import Any, get_args

from bot.case import Sharing, files_named_in

# OWASP's CSV injection rule: a cell starting with one of these is read as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The consent levels under which a case goes to partners at all ("team" keeps it in).
LEVELS: tuple[str, ...] = tuple(level for level in get_args(Sharing) if level != "team")
ALWAYS = frozenset(LEVELS)
WITH_NAMES = frozenset({"organisations", "publish_named"})  # not "names withheld"
NEVER: frozenset[str] = frozenset()

# Field → the consent levels under which partners get it. A list's items (detainees, files)
# are filtered field by field; `narrative` goes whole, as she told it.
POLICY: dict[str, frozenset[str]] = {
    "schema_version": ALWAYS,
    "code": ALWAYS,
    "submitted_at": ALWAYS,
    "locale": ALWAYS,
    # Her own name and where she lives never go, whatever she consented to (the UN too).
    "testifier.own_name": NEVER,
    "testifier.residence": NEVER,
    "detainees.relation": ALWAYS,  # who the person is to her (not who she is)
    "detainees.name": WITH_NAMES,
    "detainees.name_alt": WITH_NAMES,
    "detainees.name_han": WITH_NAMES,
    "detainees.name_pinyin": WITH_NAMES,  # worked out by the team (bot/identity.py)
    "detainees.gender": ALWAYS,
    "detainees.birth_year": ALWAYS,
    "detainees.hometown": ALWAYS,
    "detainees.hometown_detail": ALWAYS,
    "detainees.detained": ALWAYS,
    "detainees.status": ALWAYS,
    "detainees.told_where": ALWAYS,  # whether the state acknowledged where he is held
    "detainees.held_at": ALWAYS,
    "detainees.last_contact": ALWAYS,
    "detainees.occupation": ALWAYS,
    "detainees.reason": ALWAYS,
    "detainees.detained_place": ALWAYS,
    "detainees.perpetrators": ALWAYS,
    "detainees.id_number": WITH_NAMES,
    "detainees.id_check": WITH_NAMES,  # worked out by the team: does the number check
    "detainees.citizenship": ALWAYS,
    "detainees.kz_status": ALWAYS,
    "detainees.documents_taken": ALWAYS,
    "detainees.travel_ban": ALWAYS,
    "detainees.steps_taken": ALWAYS,
    "detainees.another": NEVER,  # the dialogue's "another person?", not a fact
    "narrative": ALWAYS,
    "evidence.uid": ALWAYS,
    "evidence.kind": ALWAYS,
    "evidence.person": ALWAYS,  # which detained person (by number) she said it is about
    "evidence.doc_type": ALWAYS,
    # Set when the person (and type) are the team's attribution, not hers: it goes with them.
    "evidence.assigned_by": ALWAYS,
    # Files go by allow-list besides (see disclosed()); their provenance stays in.
    "attachments.uid": ALWAYS,
    "attachments.kind": ALWAYS,
    "attachments.size": ALWAYS,
    "attachments.sha256": ALWAYS,
    "attachments.mime": NEVER,  # as read from its bytes: the team checks it, partners re-read
    "attachments.name": NEVER,  # the file's name on her phone
    # Provenance (bot/file_record.py). Her caption may name people; the forward origin names
    # who sent her the document, often someone still in Xinjiang: never to partners, whatever
    # she consented to. The message's date and her app's MIME type say nothing partners need.
    "attachments.caption": NEVER,
    "attachments.forwarded_from": NEVER,
    "attachments.forwarded_at": NEVER,
    "attachments.sent_at": NEVER,
    "attachments.declared_mime": NEVER,
    # Follow-up questions and her answers (bot/reviewing/export_facts.py). The question is the
    # team's own wording and may name the person; her answers are her words, as the story is.
    "followups.uid": ALWAYS,
    "followups.question": WITH_NAMES,
    "followups.asked_on": ALWAYS,
    "followups.person": ALWAYS,
    "followups.elements": ALWAYS,
    "followups.confirmed": ALWAYS,
    "followups.state": ALWAYS,
    "followups.answers": ALWAYS,
    "consent.contact": NEVER,
    "consent.sharing": ALWAYS,
    "consent.subscribe": NEVER,
    "consent.un_submission": NEVER,
    "consent.un_name_disclosed": NEVER,  # the UN draft only (docs/un.md)
    "consent.text_version": NEVER,
    "consent.agreed_on": NEVER,
}


# Rows for what an export adds to the sealed record (bot/reviewing/export_facts.py): what the
# team works out, and the follow-ups. Every other row is a field of `CasePayload`.
ADDED_BY_EXPORT = frozenset(
    {"detainees.name_pinyin", "detainees.id_check"}
    | {path for path in POLICY if path.startswith("followups.")}
)


def carried(level: str, part: str = "") -> frozenset[str]:
    """The fields (of `part`, without its prefix, or top-level) partners get at a level."""
    prefix = f"{part}." if part else ""
    return frozenset(
        path.removeprefix(prefix)
        for path, levels in POLICY.items()
        if level in levels and path.startswith(prefix) and "." not in path.removeprefix(prefix)
    )


def _any_level(part: str) -> frozenset[str]:
    return frozenset().union(*(carried(level, part) for level in LEVELS))


# What some partner export may carry about her and about each detained person.
PARTNER_TESTIFIER = _any_level("testifier")
DETAINEE_FIELDS = _any_level("detainees")


def neutralise_formula(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP: prefix `'`)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _filtered(level: str, path: str, value: Any) -> Any:
    """A record's (or each listed record's) fields that leave at this level."""
    if isinstance(value, list):
        return [_filtered(level, path, item) for item in value]
    if not isinstance(value, dict):
        return None
    return {name: item for name, item in value.items() if level in POLICY.get(f"{path}.{name}", ())}


def disclosed(payload: dict[str, Any], internal: bool) -> dict[str, Any]:
    """The part of a case an export may carry: all of it for the team, what `POLICY` allows
    at her consent level for partners (nothing at all for "team")."""
    if internal:
        return payload
    level = str(payload.get("consent", {}).get("sharing", "team"))
    kept: dict[str, Any] = {}
    for name, value in payload.items():
        if name in POLICY:
            if level in POLICY[name]:
                kept[name] = value
        elif name != "attachments" and any(path.startswith(f"{name}.") for path in POLICY):
            kept[name] = _filtered(level, name, value)
    # Files by allow-list: only those a kept answer, the narrative or the evidence names. A
    # withheld answer given by voice, or a recording she replaced, stays with the team.
    named = files_named_in(kept)
    files = [a for a in payload.get("attachments", []) if a.get("uid") in named]
    kept["attachments"] = _filtered(level, "attachments", files)
    return kept


def allowed(payload: dict[str, Any], internal: bool) -> bool:
    """A partner export never carries a case beyond what its consent allows."""
    return internal or payload.get("consent", {}).get("sharing") in LEVELS


def policy_table() -> str:
    """The policy as the Markdown table docs/export.md shows (a test keeps them equal)."""
    lines = ["| field | " + " | ".join(f"`{level}`" for level in ("team", *LEVELS)) + " |"]
    lines.append("|" + "---|" * (len(LEVELS) + 2))
    for path, levels in POLICY.items():
        cells = ["no", *("yes" if level in levels else "no" for level in LEVELS)]
        lines.append(f"| `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
