"""What may leave a reviewer's machine: the partner-export field policy and safe CSV cells.

A partner export (no `--internal`) carries only what `disclosed()` lets through, by the
relative's consent; every CSV cell goes through `neutralise_formula()`. docs/export.md shows
both as tables.
"""

from __future__ import annotations

from typing import Any

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


def _voices(answers: list[dict[str, Any]]) -> set[str]:
    values = [value for given in answers for value in given.values()]
    return {str(v["voice"]) for v in values if isinstance(v, dict) and "voice" in v}


def disclosed(payload: dict[str, Any], internal: bool) -> dict[str, Any]:
    """The part of a case an export may carry: all of it for the team, less for partners."""
    if internal:
        return payload
    consent = payload.get("consent", {})
    detainee_fields = PARTNER_DETAINEE.get(consent.get("sharing"), frozenset())
    testifier = payload.get("testifier", {})
    detainees = payload.get("detainees", [])
    kept_testifier = _only(testifier, PARTNER_TESTIFIER)
    kept_detainees = [_only(person, detainee_fields) for person in detainees]
    # A withheld answer given by voice is a file: the file stays with the team too.
    withheld = _voices([testifier, *detainees]) - _voices([kept_testifier, *kept_detainees])
    return {
        "submitted_at": payload.get("submitted_at"),
        "locale": payload.get("locale"),
        "testifier": kept_testifier,
        "detainees": kept_detainees,
        "narrative": payload.get("narrative", []),
        "evidence": [e for e in payload.get("evidence", []) if e.get("uid") not in withheld],
        "attachments": [a for a in payload.get("attachments", []) if a.get("uid") not in withheld],
        "consent": _only(consent, PARTNER_CONSENT),
    }


def allowed(payload: dict[str, Any], internal: bool) -> bool:
    """A partner export never carries a case beyond what its consent allows."""
    return internal or payload.get("consent", {}).get("sharing") in PARTNER_DETAINEE
