"""Consent with full knowledge: what the Working Group does, in every language; two answers
(submit; her name to the secretariat); the wording's version and the day sealed; cases sealed
before still open, never with wider consent; the submitting organisation in section 6."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.case import CONSENT_TEXT, EARLIER_CONSENT, CasePayload
from bot.crypto.roster import Organisation
from bot.i18n import Catalogs, translate
from bot.reviewing.export_policy import POLICY, disclosed
from bot.reviewing.un import PARTIAL, PRESENT, draft_case, readiness, write_draft
from bot.services.answers import day_of
from bot.services.intake import BY_NAME, UN_TRANSMISSION
from tests.harness import Harness
from tests.scenario import Consent
from tests.test_intake_dialogue import PERSONS, walk_intake
from tests.test_un import FULL, payload, text_of

TODAY_SHAPE = Path(__file__).parent / "data" / "case-v1.json"
ORGANISATION = Organisation(
    "Atajurt Eriktileri", "Almaty, Abai avenue 1", "Serik Bolatuly", "team@example.org"
)

# What each language must say, in its own words (GLOSSARY.md's terms).
TRANSMISSION = {
    "en": ["Chinese government", "cannot protect anyone", "prompt intervention", "Our team"],
    "ru": ["правительству Китая", "никого защитить", "незамедлительного вмешательства", "команда"],
    "kk": ["Қытай үкіметіне", "ешкімді қорғай алмайды", "шұғыл араласу", "біздің топ"],
}
SECRETARIAT = {"en": "secretariat", "ru": "секретариату", "kk": "хатшылығына"}
GOVERNMENT = {"en": "Chinese government", "ru": "правительству Китая", "kk": "Қытай үкіметіне"}


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    Catalogs.load().install()


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_the_un_consent_says_what_the_working_group_does(locale: str) -> None:
    said = translate(locale, UN_TRANSMISSION)
    for words in TRANSMISSION[locale]:
        assert words in said, words
    name_question = translate(locale, BY_NAME["consent_un_name"].question)
    assert SECRETARIAT[locale] in name_question and GOVERNMENT[locale] in name_question


@pytest.mark.parametrize("step", ["consent_un", "consent_un_name"])
def test_every_consent_text_exists_in_all_four_languages(step: str) -> None:
    for text in filter(None, (BY_NAME[step].question, BY_NAME[step].note)):
        written = {locale: translate(locale, text) for locale in ("kk", "ru", "en", "kk_Arab")}
        assert written["en"] == text
        assert len(set(written.values())) == 4, written  # each its own, none left in English
        assert any("\u0600" <= char <= "\u06ff" for char in written["kk_Arab"])


def test_a_payload_sealed_before_consent_versions_opens_with_no_wider_consent() -> None:
    raw = json.loads(TODAY_SHAPE.read_text(encoding="utf-8"))
    payload_ = CasePayload.from_json(raw)
    assert payload_.consent.text_version == EARLIER_CONSENT and payload_.consent.agreed_on is None
    assert payload_.consent.un_submission and not payload_.consent.un_name_disclosed
    assert payload_.to_json() == raw  # read, not rewritten
    # A name "given to the Working Group" without a submission allowed nothing to send.
    odd = raw | {"consent": raw["consent"] | {"un_submission": False, "un_name_disclosed": True}}
    assert not CasePayload.from_json(odd).consent.un_name_disclosed


def test_an_earlier_consent_is_flagged_in_the_draft(tmp_path: Path) -> None:
    out = tmp_path / "draft.odt"
    case = payload(FULL) | {"submitted_at": "2026-11-20T10:00:00+00:00"}
    write_draft(out, case, 1, code="K7QF-M2XD", summary="", received=datetime(2026, 11, 20))
    body = text_of(out)[1]
    assert "The relative agreed on 20 November 2026 that our team submits this case" in body
    assert f"before {CONSENT_TEXT}" in body and "confirm with her before sending" in body


def test_section_6_names_the_submitting_organisation_with_date_and_signature(
    tmp_path: Path,
) -> None:
    case = payload(FULL)
    case["consent"] |= {"text_version": CONSENT_TEXT, "agreed_on": "2026-11-28"}
    out = tmp_path / "draft.odt"
    write_draft(
        out,
        case,
        1,
        code="K7QF-M2XD",
        summary="",
        received=datetime(2026, 11, 28),
        organisation=ORGANISATION,
    )
    lines = text_of(out)[1].splitlines()
    section = lines[lines.index("Submitting organisation: Atajurt Eriktileri") :]
    assert "Address: Almaty, Abai avenue 1" in section
    assert "Contact person: Serik Bolatuly" in section
    assert "E-mail: team@example.org" in section
    assert any(line.endswith(f"(consent text {CONSENT_TEXT}).") for line in section)
    assert "Date of submission: ____________________" in section
    assert "Signature for the submitting organisation: ____________________" in section
    assert readiness(case, ORGANISATION)[0].elements["source"] == PRESENT
    assert readiness(case)[0].elements["source"] == PARTIAL  # her consent alone


def test_partners_never_get_the_consent_version_or_day() -> None:
    case = payload(FULL)
    case["consent"] |= {
        "sharing": "publish_named",
        "text_version": CONSENT_TEXT,
        "agreed_on": "2026-11-28",
    }
    assert POLICY["consent.text_version"] == POLICY["consent.agreed_on"] == frozenset()
    assert disclosed(case, internal=False)["consent"] == {"sharing": "publish_named"}


async def test_the_version_and_the_day_are_sealed_and_the_draft_names_no_organisation_yet(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=9900, language_code="en")
    code = await walk_intake(
        user, locale="en", persons=PERSONS[:1], consent=Consent(un="yes", un_name="yes")
    )
    consent = (await harness.open_case(code))["consent"]
    assert consent["text_version"] == CONSENT_TEXT
    assert consent["agreed_on"] == datetime.now(UTC).date().isoformat()
    assert consent["un_submission"] and consent["un_name_disclosed"]
    out = await draft_case(harness.reviewer_tool(), code, 1, lambda _code: tmp_path / "d.odt")
    body = text_of(out)[1]
    # The test roster names no organisation: the draft says what to add, never invents one.
    assert "Submitting organisation: [not in the team's signed roster" in body
    agreed = day_of(date.fromisoformat(consent["agreed_on"]))
    assert f"The relative agreed on {agreed} that our team submits this case (consent" in body
    assert "for the Working Group's secretariat only" in body
