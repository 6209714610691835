"""The current question as she sees it: its text, the answer given before while she edits
from the summary, and its buttons. No Telegram here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.case import Draft
from bot.i18n import current_locale
from bot.i18n import gettext as _
from bot.services import who_where
from bot.services.questions import (
    BY_NAME,
    CANCEL,
    CONTINUE,
    DONE,
    KEEP,
    LABELS,
    SKIP,
    SUMMARY,
    TYPE,
    UNKNOWN,
)
from bot.services.summary import callback, shown, summary, summary_buttons


@dataclass
class Prompt:
    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)


def stored(draft: Draft) -> Any:
    """What the draft holds now for the current step (a piece's reference, say), or None."""
    step = BY_NAME[draft["step"]]
    if step.part == "person":
        return draft["detainees"][draft["person"]].get(step.name)
    return (draft["consent"] if step.part == "consent" else draft["about"]).get(step.name)


def earlier(draft: Draft) -> Any:
    """While she edits from the summary: the answer given before to the current step, if any."""
    step = BY_NAME.get(draft["step"])
    if not draft.get("editing") or step is None or step.kind in ("info", "narrative", "evidence"):
        return None
    return stored(draft)


def prompt(draft: Draft, values: Mapping[str, Any] | None = None) -> Prompt:
    """The current question in the current locale, with its buttons; `values` is the
    plaintext of her sealed answers still held in memory (piece uid -> answer)."""
    name = draft["step"]
    if name == SUMMARY:
        return Prompt(summary(draft, values), summary_buttons(draft))
    step = BY_NAME[name]
    text = _(step.question)
    if step.note:
        text += "\n\n" + _(step.note)
    if step.part == "person" and len(draft["detainees"]) > 1 and name != "another":
        text = _("Person {number}.").format(number=draft["person"] + 1) + " " + text
    given = earlier(draft)
    if given is not None:
        text += "\n\n" + _("Your answer so far: {answer}").format(answer=shown(name, given, values))
    rows: list[list[tuple[str, str]]] = []
    if step.kind == "info":
        rows.append(
            [
                (_(LABELS[CONTINUE]), callback(name, CONTINUE)),
                (_(LABELS[CANCEL]), callback(name, CANCEL)),
            ]
        )
    options = [(_(label), callback(name, value)) for value, label in step.options]
    if name == "hometown_detail":
        person = draft["detainees"][draft["person"]]
        counties = who_where.counties(person, values or {}, current_locale())
        options = [(label, callback(name, value)) for label, value in counties]
    rows.extend(options[i : i + 2] for i in range(0, len(options), 2))
    extra = [(_(LABELS[KEEP]), callback(name, KEEP))] if given is not None else []
    if step.free:
        extra.append((_(LABELS[TYPE]), callback(name, TYPE)))
    if step.unknown:
        extra.append((_(LABELS[UNKNOWN]), callback(name, UNKNOWN)))
    if step.skip:
        extra.append((_(LABELS[SKIP]), callback(name, SKIP)))
    if step.kind in ("narrative", "evidence"):
        extra.append((_(LABELS[DONE]), callback(name, DONE)))
    if extra:
        rows.append(extra)
    return Prompt(text, rows)
