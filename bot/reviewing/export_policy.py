"""What may leave a reviewer's machine: the partner-export field policy and safe CSV cells.

A partner export (no `--internal`) carries only what `disclosed()` lets through, by the
relative's consent; every CSV cell goes through `neutralise_formula()`. docs/export.md shows
both as tables.
"""

from __future__ import annotations

from typing import Any

from bot.case import files_named_in

# OWASP's CSV injection rule: a cell starting with one of these is read as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# What a partner export (no --internal) may carry, by the relative's consent. Default deny: a
# field not listed, a new question included, stays with the team until it is added here. Her
# own name and where she lives never go, whatever she consented to (the UN consent included).
PARTNER_TESTIFIER = frozenset({"relation"})
PARTNER_CONSENT = frozenset({"sharing"})
NAMES_AND_IDS = frozenset({"name", "name_alt", "id_number"})
THE_PERSON = frozenset({"gender", "birth_year", "hometown", "hometown_detail", "occupation"})
THE_DETENTION = frozenset({"detained", "detained_place", "perpetrators", "reason", "status"})
SINCE_THEN = frozenset({"held_at", "last_contact", "steps_taken"})
DETAINEE_FIELDS = NAMES_AND_IDS | THE_PERSON | THE_DETENTION | SINCE_THEN
PARTNER_DETAINEE = {
    "organisations": DETAINEE_FIELDS,
    "publish_anonymous": DETAINEE_FIELDS - NAMES_AND_IDS,  # "May be published, names withheld"
    "publish_named": DETAINEE_FIELDS,
}


def neutralise_formula(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP: prefix `'`)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _only(answers: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in answers.items() if name in names}


def disclosed(payload: dict[str, Any], internal: bool) -> dict[str, Any]:
    """The part of a case an export may carry: all of it for the team, less for partners."""
    if internal:
        return payload
    consent = payload.get("consent", {})
    detainee_fields = PARTNER_DETAINEE.get(consent.get("sharing"), frozenset())
    kept = {
        "submitted_at": payload.get("submitted_at"),
        "locale": payload.get("locale"),
        "testifier": _only(payload.get("testifier", {}), PARTNER_TESTIFIER),
        "detainees": [_only(person, detainee_fields) for person in payload.get("detainees", [])],
        "narrative": payload.get("narrative", []),
        "evidence": payload.get("evidence", []),
        "consent": _only(consent, PARTNER_CONSENT),
    }
    # Files by allow-list: only those a kept answer, the narrative or the evidence names. A
    # withheld answer given by voice, or a recording she replaced, stays with the team.
    named = files_named_in(kept)
    kept["attachments"] = [a for a in payload.get("attachments", []) if a.get("uid") in named]
    return kept


def allowed(payload: dict[str, Any], internal: bool) -> bool:
    """A partner export never carries a case beyond what its consent allows."""
    return internal or payload.get("consent", {}).get("sharing") in PARTNER_DETAINEE
