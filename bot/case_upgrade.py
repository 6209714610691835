"""The written rules for case payloads sealed in an earlier shape of schema version 1.

`bot.case.upgrade()` applies them, in this order, to every payload it opens (and to a
draft's at Submit), so that an old case reads as what she literally said, never more.
"""

from __future__ import annotations

from typing import Any


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
