"""The written rules for case payloads sealed in an earlier shape of schema version 1.

`upgrade()` applies them, in this order, to every payload it opens (and to a draft's at
Submit), so that an old case reads as what she literally said, never more.

Questions added since a case was sealed (2026-11: the name on Chinese documents, "were you
officially told where he is held", citizenship, status in Kazakhstan, documents taken, travel
ban) are absent from its record: absent means "not asked", never "no" or "unknown", and
drafts, the console and exports say so (`NOT_ASKED`). A question she skipped is present, empty.
An ID number sealed before it was checked is checked by reviewer tools like any other
(bot/identity.py `id_check`): the check is worked out, never sealed.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1
# Asked since 2026-11: absent from a case sealed before, which reads "not asked".
ASKED_SINCE_2026_11 = (
    "name_han",
    "told_where",
    "citizenship",
    "kz_status",
    "documents_taken",
    "travel_ban",
)


def consent_before_versions(raw: dict[str, Any]) -> dict[str, Any]:
    """A consent sealed before its wording had a version keeps what it literally allowed, never
    more: "may the team send this case" is the same question; "may your name be given to the
    Working Group" allowed its secretariat, with a submission only. It reads EARLIER_CONSENT."""
    consent: Any = raw.get("consent")
    earlier = isinstance(consent, dict) and "text_version" not in consent
    if earlier and consent.get("un_name_disclosed") and not consent.get("un_submission"):
        return raw | {"consent": consent | {"un_name_disclosed": False}}
    return raw


def relation_per_person(raw: dict[str, Any]) -> dict[str, Any]:
    """Sealed before relation was asked per person (2026-11): her one answer belongs to person
    1 only; the others were never asked and keep none (drafts and exports: "not asked")."""
    testifier: Any = raw.get("testifier")
    if not isinstance(testifier, dict) or "relation" not in testifier:
        return raw
    people = list(raw.get("detainees") or [])
    if people and isinstance(people[0], dict) and "relation" not in people[0]:
        people[0] = {"relation": testifier["relation"], **people[0]}
    rest = {name: value for name, value in testifier.items() if name != "relation"}
    return raw | {"testifier": rest, "detainees": people}


# Rules that bring a payload of an earlier schema version to today's (1); one per new version.
UPGRADES: dict[int, Any] = {}


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """Apply the upgrade rules: those within version 1 (a consent sealed before its wording
    had a version; relation asked once per case), then one per version."""
    raw = relation_per_person(consent_before_versions(raw))
    version = int(raw.get("schema_version", 1))
    while version < SCHEMA_VERSION:
        raw = UPGRADES[version](raw)
        version = int(raw["schema_version"])
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema version {version} is newer than this program ({SCHEMA_VERSION})")
    return raw
