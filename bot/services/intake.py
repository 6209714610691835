"""The intake questionnaire: steps, answers, /back and the summary. No Telegram here.

A draft is a plain JSON-able dict (it lives in the encrypted persistence):
    {"id": str, "step": str, "person": int, "history": [[step, person], ...],
     "editing": str | None, "about": {...}, "detainees": [{...}, ...], "narrative": [...],
     "evidence": [...], "consent": {...}}
An answer is a string, {"text": ...} for a typed answer to a button question, or
{"voice": uid} for a voice message (sealed as an attachment when it arrived). An answer that
is testimony is sealed as a piece before the draft keeps it (bot/services/pieces.py): the
draft then holds its reference, and only the control values docs/data.md lists stay as
they are (consent, "another person?", the "possibly urgent" bit).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot import gazetteer
from bot.case import Draft
from bot.i18n import N_
from bot.services import who_where
from bot.services.answers import (
    AnswerError,
    check_name,
    check_text,
    clean_name,
    parse_birth_year,
    parse_event_date,
)
from bot.services.prompt import Prompt, earlier, prompt, stored
from bot.services.questions import (
    BY_NAME,
    CALLBACK_PREFIX,
    CANCEL,
    CONTINUE,
    DONE,
    KEEP,
    LABELS,
    NO,
    ORDER,
    PART_FIRST,
    PART_LAST,
    SKIP,
    STEPS,
    SUMMARY,
    TYPE,
    UN_TRANSMISSION,
    UNKNOWN,
    YES,
    Step,
)
from bot.services.summary import callback, evidence_counts, summary, summary_buttons
from bot.services.urgency import is_urgent

__all__ = [
    "BY_NAME",
    "CALLBACK_PREFIX",
    "CANCEL",
    "CONTINUE",
    "DONE",
    "KEEP",
    "LABELS",
    "NO",
    "ORDER",
    "PART_FIRST",
    "PART_LAST",
    "SKIP",
    "STEPS",
    "SUMMARY",
    "TYPE",
    "UNKNOWN",
    "UN_TRANSMISSION",
    "YES",
    "Prompt",
    "Step",
    "callback",
    "earlier",
    "evidence_counts",
    "prompt",
    "stored",
    "summary",
    "summary_buttons",
]


AT_SUMMARY = N_(
    "Please use the buttons under your answers: Submit sends them, and each Edit button "
    "changes one part."
)
AT_EVIDENCE = N_(
    "Here, please send photos, PDF documents, videos or voice messages. When you have sent "
    "them all, or if you have none, press Done."
)
NO_STORY = N_(
    "Please tell what happened first: write it, or send a voice message. Then press Done."
)
TYPE_IT = N_("Please type your answer, or send a voice message.")


class IntakeError(Exception):
    """An answer that does not fit the step; `message` is a msgid, `values` its placeholders."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.message = message
        self.values = values


@dataclass
class Answer:
    """What she gave: a button's value, typed text, or a sealed voice message's uid."""

    button: str | None = None
    text: str | None = None
    voice: str | None = None


def new_draft() -> Draft:
    """An empty draft at the safety screen."""
    return {
        "id": secrets.token_hex(16),
        "step": "safety",
        "person": 0,
        "history": [],
        "editing": None,
        "about": {},
        "detainees": [{}],
        "narrative": [],
        "evidence": [],
        "consent": {},
    }


def carry_relation(draft: Draft) -> Draft:
    """A draft begun before relation was asked per person keeps her one answer, as the
    upgrade rule does for sealed cases (bot/case_upgrade.py): it is person 1's."""
    if "relation" in draft["about"]:
        relation = draft["about"].pop("relation")
        draft["detainees"][0].setdefault("relation", relation)
    return draft


def parse_callback(data: str) -> tuple[str, str] | None:
    """(step, value) from callback data, or None if it is not ours or malformed."""
    if not data.startswith(CALLBACK_PREFIX) or len(data) > 64:
        return None
    step, sep, value = data[len(CALLBACK_PREFIX) :].partition(":")
    if not sep or (step not in BY_NAME and step != SUMMARY):
        return None
    return step, value


def _store(draft: Draft, step: Step, value: Any) -> None:
    if step.part == "person":
        draft["detainees"][draft["person"]][step.name] = value
    elif step.part == "consent":
        draft["consent"][step.name] = value
    else:
        draft["about"][step.name] = value


def _voice_or_text(answer: Answer, check: Any) -> Any:
    if answer.voice is not None:
        return {"voice": answer.voice}
    if answer.text is None:
        raise IntakeError(N_("Please answer with a message or use the buttons."))
    try:
        return check(answer.text)
    except AnswerError as exc:
        raise IntakeError(exc.message, **exc.values) from None


def slot(draft: Draft) -> str | None:
    """Where the current step's answer goes in the case record, if it is testimony (sealed
    as a piece); None for the dialogue's own values (consent, "another person?", info)."""
    step = BY_NAME.get(draft["step"])
    if step is None or step.kind in ("info", "narrative", "evidence"):
        return None  # the story's pieces are sealed one by one (add_narrative); files already
    if step.part == "consent" or step.name == "another":
        return None
    if step.part == "person":
        return f"detainees.{draft['person']}.{step.name}"
    return f"testifier.{step.name}"


def answer(draft: Draft, given: Answer, *, today: date | None = None) -> None:
    """Take her answer for the current step, unsealed, and move on; raise IntakeError to
    re-ask. The dialogue seals it first (bot/services/pieces.py, `DraftPieces.answer`)."""
    value = read(draft, given, today=today)
    accept(draft, value, value, today=today)


def accept(draft: Draft, value: Any, kept: Any, *, today: date | None = None) -> None:
    """Keep `kept` (her answer `value`, or its sealed piece's reference) and move on. The
    "possibly urgent" bit of a detention date is worked out here, from the plaintext."""
    step = BY_NAME[draft["step"]]
    if step.kind != "info":
        _store(draft, step, kept)
    if step.name == "detained":
        person = draft["detainees"][draft["person"]]
        if is_urgent({"detained": value}, today or datetime.now(UTC).date()):
            person["urgent"] = True
        else:
            person.pop("urgent", None)
    _advance(draft, step, value)


def read(draft: Draft, given: Answer, *, today: date | None = None) -> Any:
    """Her answer for the current step in its stored form; raise IntakeError to re-ask."""
    if draft["step"] == SUMMARY:
        raise IntakeError(AT_SUMMARY)
    step = BY_NAME[draft["step"]]
    value: Any
    if given.button in (SKIP, UNKNOWN) and (step.skip or step.unknown):
        value = None if given.button == SKIP else UNKNOWN
    elif step.kind in ("info", "yesno", "choice") and given.button is not None:
        valid = {CONTINUE} if step.kind == "info" else {v for v, _label in step.options}
        if given.button not in valid:
            raise IntakeError(N_("This button is out of date. Please use the buttons below."))
        value = given.button
    elif step.kind == "choice" and step.free:
        value = _voice_or_text(given, lambda text: {"text": check_text(text)})
    elif step.kind in ("info", "yesno", "choice"):
        raise IntakeError(N_("Please choose one of the buttons."))
    elif step.name == "name_han":
        value = _voice_or_text(given, who_where.han_name)
    elif step.name == "hometown_detail" and given.button is not None:
        place = gazetteer.place(given.button)
        if place is None or place.level != "county":
            raise IntakeError(N_("This button is out of date. Please use the buttons below."))
        value = place.id  # a county of the gazetteer (bot/gazetteer.py)
    elif step.kind == "name":
        value = _voice_or_text(given, check_name)
    elif step.kind == "year":
        value = _voice_or_text(given, lambda t: parse_birth_year(t, today=today))
    elif step.kind == "date":
        value = _voice_or_text(given, lambda t: parse_event_date(t, today=today))
    elif step.kind == "text" and step.name == "own_name":
        # Her own name is free text (any form of it), but no hidden characters.
        value = _voice_or_text(given, lambda t: check_text(" ".join(clean_name(t).split())))
    elif step.kind == "text":
        value = _voice_or_text(given, check_text)
    elif step.kind == "evidence":
        raise IntakeError(AT_EVIDENCE)
    else:
        raise IntakeError(N_("Please answer with a message or use the buttons."))
    return value


def check_id_number(draft: Draft, given: Answer, values: Mapping[str, Any]) -> None:
    """At the ID number step: re-ask once (per person) when the number does not check or does
    not fit the birth year and sex she gave (their plaintext, if still held); the second time
    it is kept as she wrote it, and reviewers see whether it checks (bot/identity.py)."""
    if draft["step"] != "id_number" or not given.text or given.button is not None:
        return
    asked = draft.setdefault("id_rechecked", [])
    if draft["person"] in asked:
        return
    if who_where.id_problem(draft["detainees"][draft["person"]], given.text, values):
        asked.append(draft["person"])
        raise IntakeError(who_where.ID_RECHECK)


def narrative_piece(given: Answer) -> dict[str, str]:
    """One more piece of the story; long texts are kept whole, never cut."""
    if given.voice is not None:
        return {"voice": given.voice}
    if given.text and given.text.strip():
        return {"text": given.text}
    raise IntakeError(N_("Please write your answer, send a voice message, or press Skip."))


def add_narrative(draft: Draft, given: Answer) -> None:
    """One more piece of the story, unsealed (the dialogue seals it: DraftPieces)."""
    draft["narrative"].append(narrative_piece(given))


def add_evidence(draft: Draft, uid: str, kind: str) -> int:
    """Record a sealed attachment; returns how many of this kind she has sent."""
    draft["evidence"].append({"uid": uid, "kind": kind})
    return sum(1 for item in draft["evidence"] if item["kind"] == kind)


def finish_part(draft: Draft) -> None:
    """The Done button of the narrative or evidence step; the story may not be empty."""
    if draft["step"] == "narrative" and not draft["narrative"]:
        raise IntakeError(NO_STORY)
    _advance(draft, BY_NAME[draft["step"]], None)


def _advance(draft: Draft, step: Step, value: Any) -> None:
    draft["history"].append([step.name, draft["person"]])
    editing = draft.get("editing")
    if editing and PART_LAST.get(editing.split(":")[0]) == step.name:
        draft["editing"] = None
        draft["step"] = SUMMARY
        return
    if step.name == "hometown" and (value in (None, UNKNOWN) or isinstance(value, dict)):
        next_name = "detained"
    elif step.name == "consent_un" and value != YES:
        draft["consent"]["consent_un_name"] = NO
        next_name = "subscribe"
    elif step.name == "relation" and (draft["person"] > 0 or editing):
        next_name = "name"  # only person 1's relation is asked before her own name
    elif step.name == "another":
        if value == YES:
            draft["detainees"].append({})
            draft["person"] = len(draft["detainees"]) - 1
            next_name = "relation"
        else:
            next_name = "narrative"
    else:
        next_name = ORDER[ORDER.index(step.name) + 1]
    draft["step"] = next_name


def keep_earlier(draft: Draft, values: Mapping[str, Any]) -> bool:
    """Keep, Skip while editing: the answer given before stays and she moves on."""
    kept = earlier(draft)
    if kept is None:
        return False
    piece = kept.get("piece") if isinstance(kept, dict) else None
    _advance(draft, BY_NAME[draft["step"]], values.get(piece, kept) if piece else kept)
    return True


def back(draft: Draft) -> bool:
    """Go one step back, keeping every answer; False at the first step."""
    if not draft["history"]:
        return False
    current_person = draft["person"]
    name, person = draft["history"].pop()
    # Leaving a person she had only just started to describe removes the empty entry.
    if person != current_person and not draft["detainees"][current_person]:
        draft["detainees"].pop(current_person)
    draft["step"], draft["person"] = name, person
    return True


def edit(draft: Draft, part: str) -> None:
    """From the summary: go to the first step of a part, and come back when it is done."""
    kind, _sep, index = part.partition(":")
    if kind not in PART_FIRST:
        raise IntakeError(N_("This button is out of date. Please use the buttons below."))
    if kind == "person":
        if not index.isdigit() or int(index) >= len(draft["detainees"]):
            raise IntakeError(N_("This button is out of date. Please use the buttons below."))
        draft["person"] = int(index)
    draft["history"].append([SUMMARY, draft["person"]])
    draft["editing"] = part
    draft["step"] = PART_FIRST[kind]


def ready(draft: Draft) -> bool:
    """The draft has reached the summary with every required answer."""
    return draft["step"] == SUMMARY and all(p.get("name") for p in draft["detainees"])
