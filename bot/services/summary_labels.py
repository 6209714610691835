"""Short labels for the summary she checks before Submit, one per question: "Birth year:
about 1955", never the whole question with its examples (the language review of 2026-11)."""

from __future__ import annotations

from bot.i18n import N_

SHORT = {
    "own_name": N_("Your name:"),
    "residence": N_("Where you live:"),
    "relation": N_("Who this person is to you:"),
    "name": N_("Name:"),
    "name_alt": N_("Name in another spelling:"),
    "name_han": N_("Name in Chinese characters:"),
    "gender": N_("Sex:"),
    "birth_year": N_("Birth year:"),
    "hometown": N_("Hometown:"),
    "hometown_detail": N_("County, town or village:"),
    "detained": N_("Date of detention:"),
    "status": N_("What is known now:"),
    "told_where": N_("Officially told where this person is held:"),
    "held_at": N_("Where held:"),
    "last_contact": N_("Last contact:"),
    "occupation": N_("Occupation before the detention:"),
    "reason": N_("Reason given:"),
    "detained_place": N_("Where detained:"),
    "perpetrators": N_("Who took this person:"),
    "id_number": N_("ID card number:"),
    "citizenship": N_("Citizenship:"),
    "kz_status": N_("Status in Kazakhstan:"),
    "documents_taken": N_("Documents taken:"),
    "travel_ban": N_("Forbidden to leave China:"),
    "steps_taken": N_("What your family has done:"),
    "consent_contact": N_("Follow-up questions from our team:"),
    "consent_sharing": N_("Who may receive your testimony:"),
    "consent_un": N_("Submission to the UN Working Group:"),
    "consent_un_name": N_("Your name to the Working Group:"),
    "subscribe": N_("Protest news:"),
}
