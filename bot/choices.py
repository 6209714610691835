"""The answers offered as buttons: each value as stored, and its label as a message id."""

from __future__ import annotations

from bot.i18n import N_

RELATIONS = (
    ("son", N_("Son")),
    ("daughter", N_("Daughter")),
    ("husband", N_("Husband")),
    ("wife", N_("Wife")),
    ("father", N_("Father")),
    ("mother", N_("Mother")),
    ("brother", N_("Brother")),
    ("sister", N_("Sister")),
    ("other", N_("Other relative")),
    ("none", N_("Not a relative")),
)
GENDERS = (("male", N_("Man")), ("female", N_("Woman")))
PREFECTURES = (
    ("ili", N_("Ili")),
    ("altay", N_("Altay")),
    ("tarbagatay", N_("Tarbagatay")),
    ("urumqi", N_("Urumqi")),
    ("bortala", N_("Bortala")),
    ("changji", N_("Changji")),
    ("elsewhere", N_("Somewhere else")),
)
STATUSES = (
    ("camp", N_("In a «re-education» camp")),
    ("prison", N_("Prison sentence")),
    ("forced_labour", N_("Forced labour")),
    ("released", N_("Released")),
    ("died", N_("Died")),
    ("unknown", N_("Unknown")),
)
PERPETRATORS = (
    ("police", N_("Police")),
    ("state_security", N_("State security")),
    ("camp_staff", N_("Camp staff")),
    ("plain_clothes", N_("People in plain clothes")),
)
SHARING = (
    ("team", N_("Only the reviewing team")),
    ("organisations", N_("Shared with human-rights organisations")),
    ("publish_anonymous", N_("May be published, names withheld")),
    ("publish_named", N_("May be published with names")),
)
YES_NO = (("yes", N_("Yes")), ("no", N_("No")))
