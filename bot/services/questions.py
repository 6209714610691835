"""The intake questionnaire as a table: each step's question, kind, part and buttons.

The engine that walks it (answers, /back, the summary) is bot/services/intake.py; the
record the answers become is bot/case.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.choices import (
    CITIZENSHIPS,
    GENDERS,
    KZ_STATUSES,
    PERPETRATORS,
    PREFECTURES,
    RELATION_BUTTONS,
    SHARING,
    STATUSES,
    YES_NO,
)
from bot.i18n import N_

Kind = Literal["info", "choice", "text", "name", "year", "date", "narrative", "evidence", "yesno"]

SKIP = "_skip"
UNKNOWN = "_unknown"
DONE = "_done"
CONTINUE = "_continue"
CANCEL = "_cancel"
TYPE = "_type"  # "Other (type it)": the next typed message is her answer to a button question
KEEP = "_keep"  # while editing from the summary: keep the answer given before
YES = "yes"
NO = "no"
SUMMARY = "summary"
CALLBACK_PREFIX = "i:"

# What Telegram-side buttons say, shared by every step.
LABELS = {
    SKIP: N_("Skip"),
    UNKNOWN: N_("I don't know"),
    DONE: N_("Done"),
    CONTINUE: N_("Continue"),
    CANCEL: N_("Cancel"),
    YES: N_("Yes"),
    NO: N_("No"),
    TYPE: N_("Other (type it)"),
    KEEP: N_("Keep this answer"),
}


@dataclass(frozen=True)
class Step:
    name: str
    question: str
    kind: Kind
    part: str
    options: tuple[tuple[str, str], ...] = ()
    skip: bool = False
    unknown: bool = False
    # Her own words (typed or spoken) may answer this button question, after she presses
    # "Other (type it)"; typed text without it is re-asked with the buttons.
    free: bool = False
    # What she must know before she answers; shown under the question, not in the summary.
    note: str = ""


# What the Working Group does with a case; said wherever she is asked to agree to it. Its
# wording is part of the consent text sealed with each case (bot/case.py, CONSENT_TEXT).
UN_TRANSMISSION = N_(
    "What the Working Group does: it sends the case to the Chinese government and asks where "
    "the person is and what has happened to them. It cannot order a release and cannot protect "
    "anyone, here or in China. If you or your family are threatened or punished because of the "
    "case, it can write to the government at once (a prompt intervention). Our team stays your "
    "contact: the Working Group's questions and answers reach you through us."
)

STEPS: tuple[Step, ...] = (
    Step(
        "safety",
        N_(
            "Before we begin.\n\n"
            "I will ask about you, the detained person, and what happened. It takes about "
            "10 to 20 minutes. You can take a break at any time and continue later with "
            "/start.\n"
            "Your answers, files and voice messages are sealed as soon as they arrive: on our "
            "server, only the reviewing team can read them. The bot itself keeps only which "
            "question you are at and your yes/no and consent choices.\n"
            "/back goes one step back. /cancel deletes all your answers and stops.\n"
            "You can answer any question with a voice message.\n"
            "Who can see what: /privacy"
        ),
        "info",
        "about",
    ),
    # Asked about each person, first (for person 1 before her own name, as the intake always
    # began): her first-person answer ("my son") is stored on that person.
    Step(
        "relation",
        N_("Who is the detained person to you?"),
        "choice",
        "person",
        RELATION_BUTTONS,
        free=True,
    ),
    Step("own_name", N_("Your name, if you wish to give it."), "text", "about", skip=True),
    Step(
        "residence",
        N_("Where do you live now? Country and city."),
        "text",
        "about",
        skip=True,
    ),
    Step(
        "name",
        N_(
            "The detained person's full name, as you write it. Any alphabet is fine: "
            "Cyrillic, Latin, Chinese or Arabic script."
        ),
        "name",
        "person",
    ),
    Step(
        "name_alt",
        N_("Is the name also written in another alphabet? If so, write it here."),
        "name",
        "person",
        skip=True,
    ),
    Step(
        "name_han",
        N_(
            "If you have the name as written on Chinese documents (in Chinese characters), "
            "write it here."
        ),
        "name",
        "person",
        skip=True,
    ),
    Step("gender", N_("Is this person a man or a woman?"), "choice", "person", GENDERS, skip=True),
    Step(
        "birth_year",
        N_("Birth year? For example 1965, «about 1965» or «1960s»."),
        "year",
        "person",
        unknown=True,
    ),
    Step(
        "hometown",
        N_("Hometown: which prefecture?"),
        "choice",
        "person",
        PREFECTURES,
        unknown=True,
        free=True,
    ),
    Step(
        "hometown_detail",
        N_("County, town or village, if you know it."),
        "text",
        "person",
        skip=True,
    ),
    Step(
        "detained",
        N_(
            "When was this person detained? If you know it, write the day, month and year, "
            "for example 12.05.2018 or 12 May 2018; if not, the month and year (05.2018) or "
            "the year."
        ),
        "date",
        "person",
        unknown=True,
    ),
    Step("status", N_("What is known now?"), "choice", "person", STATUSES, free=True),
    Step(
        "told_where",
        N_("Were you ever officially told where this person is held?"),
        "yesno",
        "person",
        YES_NO,
        skip=True,
        unknown=True,
    ),
    Step("held_at", N_("Where is this person held, if you know?"), "text", "person", skip=True),
    Step(
        "last_contact",
        N_("When and how did you last hear from this person?"),
        "text",
        "person",
        skip=True,
    ),
    Step("occupation", N_("What was this person's occupation?"), "text", "person", skip=True),
    Step(
        "reason",
        N_("Was any reason given for the detention? What was said?"),
        "text",
        "person",
        skip=True,
    ),
    Step(
        "detained_place",
        N_("Where was this person taken, or last seen? Town, street, building."),
        "text",
        "person",
        skip=True,
    ),
    Step(
        "perpetrators",
        N_("Who took this person, as far as you know?"),
        "choice",
        "person",
        PERPETRATORS,
        unknown=True,
        free=True,
    ),
    Step(
        "id_number",
        N_("Do you know this person's ID card number (in China, 18 digits)?"),
        "text",
        "person",
        skip=True,
    ),
    Step(
        "citizenship",
        N_("Which citizenship does this person have?"),
        "choice",
        "person",
        CITIZENSHIPS,
        skip=True,
        unknown=True,
    ),
    Step(
        "kz_status",
        N_("Does this person have a status in Kazakhstan?"),
        "choice",
        "person",
        KZ_STATUSES,
        skip=True,
        unknown=True,
    ),
    Step(
        "documents_taken",
        N_("Did the authorities take this person's passport or other documents?"),
        "yesno",
        "person",
        YES_NO,
        skip=True,
        unknown=True,
    ),
    Step(
        "travel_ban",
        N_("Was this person forbidden to leave China?"),
        "yesno",
        "person",
        YES_NO,
        skip=True,
        unknown=True,
    ),
    Step(
        "steps_taken",
        N_(
            "What have you or others done to find this person (letters, the consulate, "
            "the ministry, UN bodies), and what answer came? Or why could nothing be done?"
        ),
        "text",
        "person",
        skip=True,
    ),
    Step("another", N_("Is another family member detained?"), "yesno", "person", YES_NO),
    Step(
        "narrative",
        N_(
            "Please tell what happened, in your own words. Write or send voice messages, "
            "as many as you need. When you have finished, press Done."
        ),
        "narrative",
        "narrative",
    ),
    Step(
        "evidence",
        N_(
            "Do you have photos or documents? Send them here: photos, PDF files, voice "
            "messages or videos, up to 20 MB each. When you have finished, press Done."
        ),
        "evidence",
        "evidence",
    ),
    Step(
        "consent_contact",
        N_("May the reviewing team contact you here with follow-up questions?"),
        "yesno",
        "consent",
        YES_NO,
    ),
    Step(
        "consent_sharing",
        N_("How may your testimony be used?"),
        "choice",
        "consent",
        SHARING,
        note=N_(
            "If names are published, the authorities in China may learn who spoke. "
            "Think of family members who are still there."
        ),
    ),
    Step(
        "consent_un",
        N_(
            "May our team send this case to the UN Working Group on Enforced or Involuntary "
            "Disappearances?"
        ),
        "yesno",
        "consent",
        YES_NO,
        note=UN_TRANSMISSION,
    ),
    Step(
        "consent_un_name",
        N_(
            "May our team give your own name to the Working Group's secretariat? The Working "
            "Group never passes it on to the Chinese government. If you say no, the case goes "
            "in our team's name alone."
        ),
        "yesno",
        "consent",
        YES_NO,
    ),
    Step(
        "subscribe",
        N_("Would you like to receive news about protests from this bot?"),
        "yesno",
        "consent",
        YES_NO,
    ),
)
BY_NAME = {step.name: step for step in STEPS}
ORDER = [step.name for step in STEPS] + [SUMMARY]
# Where each part of the summary starts and ends, for its Edit button.
PART_FIRST = {
    "about": "own_name",
    "person": "relation",
    "narrative": "narrative",
    "evidence": "evidence",
    "consent": "consent_contact",
}
PART_LAST = {
    "about": "residence",
    "person": "steps_taken",
    "narrative": "narrative",
    "evidence": "evidence",
    "consent": "subscribe",
}
