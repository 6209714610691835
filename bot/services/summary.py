"""The summary she checks before Submit ("check your answers"), and the buttons' data.

Her sealed answers are shown from the plaintext this process still holds (bot/services/
pieces.py, `Recall`); what it no longer holds is "given (sealed)", and she can still edit it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.case import Draft, describe
from bot.i18n import current_locale, ngettext
from bot.i18n import gettext as _
from bot.services.questions import BY_NAME, CALLBACK_PREFIX, CANCEL, LABELS, STEPS, SUMMARY, UNKNOWN
from bot.services.summary_labels import SHORT


def callback(step: str, value: str) -> str:
    """Callback data for a button: it names the step, so an old message's button is spotted."""
    return f"{CALLBACK_PREFIX}{step}:{value}"


def shown(step_name: str, value: Any, values: Mapping[str, Any] | None = None) -> str:
    """Her answer as the summary shows it back to her, in her language; a sealed answer
    whose plaintext this process no longer holds is "given (sealed)"."""
    if isinstance(value, dict) and isinstance(value.get("piece"), str):
        if "voice" in value:
            return "🎤 " + _("voice message")
        if values is None or value["piece"] not in values:
            return _("given (sealed)")
        value = values[value["piece"]]
    if value is None:
        return "—"
    if value == UNKNOWN:
        return _(LABELS[UNKNOWN])
    if isinstance(value, dict) and "voice" in value:
        return "🎤 " + _("voice message")
    step = BY_NAME.get(step_name)
    for option, label in step.options if step and isinstance(value, str) else ():
        if option == value:
            return _(label)  # her own answer, as the button said it ("My son")
    return describe(step_name, value, current_locale())


def summary(draft: Draft, values: Mapping[str, Any] | None = None) -> str:
    """Everything she gave, in her language, part by part."""
    lines = [_("Please check your answers."), "", "— " + _("About you")]
    for name in ("own_name", "residence"):
        given = shown(name, draft["about"].get(name), values)
        lines.append(f"{_(SHORT[name])} {given}")
    for number, person in enumerate(draft["detainees"], start=1):
        lines += ["", "— " + _("Person {number}").format(number=number)]
        for step in STEPS:
            if step.part == "person" and step.name != "another":
                given = shown(step.name, person.get(step.name), values)
                lines.append(f"{_(SHORT[step.name])} {given}")
    lines += ["", "— " + _("What happened")]
    for piece in draft["narrative"]:
        lines.append(shown("narrative", piece, values))
    if not draft["narrative"]:
        lines.append("—")
    lines += ["", "— " + _("Evidence")]
    counts = {kind: 0 for kind in ("photo", "document", "voice", "video")}
    for item in draft["evidence"]:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    lines.append(evidence_counts(counts))
    lines += ["", "— " + _("Consent")]
    for name in (
        "consent_contact",
        "consent_sharing",
        "consent_un",
        "consent_un_name",
        "subscribe",
    ):
        lines.append(f"{_(SHORT[name])} {shown(name, draft['consent'].get(name))}")
    return "\n".join(lines)


def evidence_counts(counts: dict[str, int]) -> str:
    """'2 photos, 1 document' in the current language."""
    parts = []
    if n := counts.get("photo", 0):
        parts.append(ngettext("{count} photo", "{count} photos", n).format(count=n))
    if n := counts.get("document", 0):
        parts.append(ngettext("{count} document", "{count} documents", n).format(count=n))
    if n := counts.get("voice", 0):
        parts.append(ngettext("{count} voice message", "{count} voice messages", n).format(count=n))
    if n := counts.get("video", 0):
        parts.append(ngettext("{count} video", "{count} videos", n).format(count=n))
    return ", ".join(parts) if parts else _("No files.")


def summary_buttons(draft: Draft) -> list[list[tuple[str, str]]]:
    """An Edit button per part, then Submit and Cancel."""
    rows = [[(_("Edit: about you"), callback(SUMMARY, "edit:about"))]]
    for index in range(len(draft["detainees"])):
        rows.append(
            [
                (
                    _("Edit: person {number}").format(number=index + 1),
                    callback(SUMMARY, f"edit:person:{index}"),
                )
            ]
        )
    rows.append([(_("Edit: what happened"), callback(SUMMARY, "edit:narrative"))])
    rows.append([(_("Edit: evidence"), callback(SUMMARY, "edit:evidence"))])
    rows.append([(_("Edit: consent"), callback(SUMMARY, "edit:consent"))])
    rows.append(
        [(_("Submit"), callback(SUMMARY, "submit")), (_(LABELS[CANCEL]), callback(SUMMARY, CANCEL))]
    )
    return rows
