"""What the console shows for each stored value: a label through the catalogs, in the
console's language, never the raw value (`in_review`, `partially_verified`, `kk_Arab`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.case import UN_ELEMENTS
from bot.choices import SHARING
from bot.i18n import LOCALE_NAMES, N_, translate
from bot.models import CaseStatus
from bot.states import FollowUpState, Grade

# The same words the relative reads for her case's status (handlers/cases.py), so a
# reviewer and a relative name a status alike.
STATUSES = {
    CaseStatus.RECEIVED: N_("received"),
    CaseStatus.IN_REVIEW: N_("in review"),
    CaseStatus.NEEDS_INFO: N_("needs more information"),
    CaseStatus.VERIFIED: N_("verified"),
    CaseStatus.REJECTED: N_("not accepted"),
    CaseStatus.WITHDRAWN: N_("withdrawn"),
}
GRADES = {
    Grade.REPORTED: N_("reported"),
    Grade.PARTIALLY_VERIFIED: N_("partially verified"),
    Grade.CORROBORATED: N_("corroborated"),
    Grade.DOCUMENTED: N_("documented"),
}
QUESTION_STATES = {
    FollowUpState.QUEUED: N_("waiting to be sent"),
    FollowUpState.SENT: N_("sent, not answered yet"),
    FollowUpState.ANSWERED: N_("answered"),
    FollowUpState.FAILED: N_("could not be delivered"),
}
# The UN Working Group's six elements (bot/reviewing/un.py), as the console names them.
ELEMENTS = {
    "identity": N_(
        "Identity of the person (full name, and an ID number, or his own identity document "
        "or photo)"
    ),
    "date": N_("Date of the arrest or abduction (year, month and day)"),
    "place": N_("Place of the arrest or abduction, or where last seen"),
    "forces": N_("Forces believed responsible"),
    "steps": N_("Steps taken to find the person, and the answers"),
    "source": N_("Who submits, with the relative's consent, and confidentiality"),
}
ELEMENT_STATES = {
    "present": N_("given"),
    "partial": N_("partly given"),
    "missing": N_("missing"),
}
YES_NO = {True: N_("Yes"), False: N_("No")}
assert set(ELEMENTS) == set(UN_ELEMENTS)  # noqa: S101 - one list of elements


def labeller(lang: str) -> Callable[[str, Any], str]:
    """`label(kind, value)` for the templates: one place where values become words."""
    tables: dict[str, dict[Any, str]] = {
        "status": dict(STATUSES),
        "grade": dict(GRADES),
        "question": dict(QUESTION_STATES),
        "element": ELEMENTS,
        "element_state": ELEMENT_STATES,
        "yes_no": dict(YES_NO),
        "sharing": dict(SHARING),
    }

    def label(kind: str, value: Any) -> str:
        if kind == "locale":
            return LOCALE_NAMES.get(str(value), str(value or "—"))
        if value is None or value == "":
            return "—"
        table = tables[kind]
        found = table.get(value)
        if found is None and not isinstance(value, bool):
            found = table.get(str(value))
        return translate(lang, found) if found is not None else str(value)

    return label
