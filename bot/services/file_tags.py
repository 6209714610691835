"""Which person a file is about and what it is: one skippable question after it arrives.

With more than one detained person she first picks the person (by number, as the intake
names them), then the kind of document; with one, only the kind (the person is the one).
Kept on the draft's evidence item (`person`, `doc_type`), sealed with the case's manifest. A file
she does not describe stays unattributed: no draft or readiness check counts it for anyone.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.case import Draft
from bot.choices import DOC_TYPES
from bot.i18n import N_
from bot.i18n import gettext as _
from bot.services.intake import DONE, LABELS, SKIP, IntakeError, Prompt, callback

# The evidence step's buttons that describe a file: f<index>.<mark>:p<n> / t<type> / skip,
# where <mark> names that file of this draft, so that a file question left on her screen from
# an earlier testimony (or one she cancelled) never describes this draft's file there. It is
# a hash of the draft's id (kept only in the encrypted draft, gone after Submit) and the
# file's uid: Telegram's copy of her chat holds nothing that matches a database row.
PREFIX = "f"
MARK = 8
TYPES = {value for value, _label in DOC_TYPES}
WHOSE = N_("Which person is this file about?")
WHAT = N_("What is this file?")


def is_tag(value: str) -> bool:
    return value.startswith(PREFIX) and ":" in value


def _mark(draft: Draft, index: int) -> str:
    named = f"{draft.get('id', '')}:{draft['evidence'][index]['uid']}"
    return hashlib.sha256(named.encode()).hexdigest()[:MARK]


def _tag(draft: Draft, index: int, what: str) -> str:
    return callback("evidence", f"{PREFIX}{index}.{_mark(draft, index)}:{what}")


def question(draft: Draft, index: int) -> Prompt:
    """The question about one file, with its buttons, and Done to finish the evidence."""
    item = draft["evidence"][index]
    persons = len(draft["detainees"])
    rows: list[list[tuple[str, str]]]
    if persons > 1 and "person" not in item:
        text = _(WHOSE)
        buttons = [
            (_("Person {number}").format(number=n), _tag(draft, index, f"p{n}"))
            for n in range(1, persons + 1)
        ]
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    else:
        text = _(WHAT)
        options = [(_(label), _tag(draft, index, f"t{v}")) for v, label in DOC_TYPES]
        rows = [options[i : i + 2] for i in range(0, len(options), 2)]
    rows.append(
        [
            (_(LABELS[SKIP]), _tag(draft, index, SKIP)),
            (_(LABELS[DONE]), callback("evidence", DONE)),
        ]
    )
    return Prompt(text, rows)


def describe_file(draft: Draft, value: str) -> Prompt | None:
    """Take one answer about a file; the next question about it, or None when it is done."""
    head, _sep, what = value.partition(":")
    number, _dot, mark = head.removeprefix(PREFIX).partition(".")
    if not number.isdigit() or int(number) >= len(draft["evidence"]):
        raise IntakeError(N_("This button is out of date. Please use the buttons below."))
    index, persons = int(number), len(draft["detainees"])
    item = draft["evidence"][index]
    if not hmac.compare_digest(mark, _mark(draft, index)):
        # Another draft's file at the same place (an earlier testimony, a cancelled one).
        raise IntakeError(N_("This button is out of date. Please use the buttons below."))
    if what == SKIP:
        return None
    if what.startswith("p") and what[1:].isdigit() and 1 <= int(what[1:]) <= persons:
        item["person"] = int(what[1:])
        return question(draft, index)
    if what.startswith("t") and what[1:] in TYPES:
        item["doc_type"] = what[1:]
        if persons == 1:
            item["person"] = 1
        return None
    raise IntakeError(N_("This button is out of date. Please use the buttons below."))
