"""The answers offered as buttons: each value as stored, and its label as a message id."""

from __future__ import annotations

from bot.i18n import N_

# Who the detained person is to her, as she answered for that person ("son": he is her son).
# RELATIONS label the stored value for the team and partners so that it cannot be read the
# other way round; RELATION_BUTTONS are her own first-person answers in the dialogue.
RELATIONS = (
    ("son", N_("Son of the testifier")),
    ("daughter", N_("Daughter of the testifier")),
    ("husband", N_("Husband of the testifier")),
    ("wife", N_("Wife of the testifier")),
    ("father", N_("Father of the testifier")),
    ("mother", N_("Mother of the testifier")),
    ("brother", N_("Brother of the testifier")),
    ("sister", N_("Sister of the testifier")),
    ("other", N_("Another relative of the testifier")),
    ("none", N_("Not a relative of the testifier")),
)
RELATION_BUTTONS = (
    ("son", N_("My son")),
    ("daughter", N_("My daughter")),
    ("husband", N_("My husband")),
    ("wife", N_("My wife")),
    ("father", N_("My father")),
    ("mother", N_("My mother")),
    ("brother", N_("My brother")),
    ("sister", N_("My sister")),
    ("other", N_("Another relative of mine")),
    ("none", N_("Not a relative of mine")),
)
GENDERS = (("male", N_("Man")), ("female", N_("Woman")))
PREFECTURES = (
    ("ili", N_("Ili")),
    ("altay", N_("Altay")),
    ("tarbagatay", N_("Tarbagatay")),
    ("urumqi", N_("Urumqi")),
    ("bortala", N_("Bortala")),
    ("changji", N_("Changji")),
    ("karamay", N_("Karamay")),
    ("hami", N_("Hami or Barkol")),
    ("shihezi", N_("Shihezi")),
    ("xpcc", N_("A Bingtuan (XPCC) farm or town")),
    ("elsewhere", N_("Somewhere else")),
)
# Each prefecture button but "elsewhere" is a place of the gazetteer (bot/gazetteer.py), which
# gives UN drafts and exports its names in every script and its GB/T 2260 code.
STATUSES = (
    ("camp", N_("In a «re-education» camp")),
    ("prison", N_("Prison sentence")),
    ("forced_labour", N_("Forced labour")),
    ("released", N_("Released")),
    ("died", N_("Died")),
    ("pretrial", N_("Pre-trial detention")),
    ("house_arrest", N_("House arrest or «residential surveillance»")),
    ("travel_ban", N_("Free, but not allowed to leave China")),
    ("unknown", N_("Unknown")),
)
CITIZENSHIPS = (
    ("china", N_("China")),
    ("kazakhstan", N_("Kazakhstan")),
    ("both", N_("China and Kazakhstan")),
    ("other", N_("Another country")),
)
KZ_STATUSES = (
    ("citizen", N_("Citizen of Kazakhstan")),
    ("residence_permit", N_("Residence permit in Kazakhstan")),
    ("kandas_applicant", N_("Applied for kandas status")),
    ("none", N_("None of these")),
)
PERPETRATORS = (
    ("police", N_("Police")),
    ("state_security", N_("State security")),
    ("camp_staff", N_("Camp staff")),
    ("plain_clothes", N_("People in plain clothes")),
)
SHARING = (
    ("team", N_("Only our team")),
    ("organisations", N_("May be shared with human-rights organisations")),
    ("publish_anonymous", N_("May be published, names withheld")),
    ("publish_named", N_("May be published with names")),
)
YES_NO = (("yes", N_("Yes")), ("no", N_("No")))
# What a file she sends is, asked once when it arrives (skippable). An ID card, the household
# register or a photo of the person identifies the person the file is about (UN element a).
DOC_TYPES = (
    ("id_card", N_("ID card")),
    ("hukou", N_("Household register (hukou)")),
    ("detention_notice", N_("Detention notice")),
    ("verdict", N_("Court verdict")),
    ("photo_of_person", N_("Photo of the person")),
    ("chat", N_("Chat screenshot")),
    ("other", N_("Something else")),
)
IDENTITY_TYPES = ("id_card", "hukou", "photo_of_person")


def attribution(person: int, doc_type: str) -> str:
    """What a reviewer's signature on her attribution of a file covers, besides the file's
    uid and the case's code (bot/reviewing/assignments.py)."""
    return f"person={person};doc_type={doc_type}"
