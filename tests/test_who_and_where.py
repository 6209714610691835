"""Who and where, checkable (issue 18, item 4): the PRC ID number is checked and re-asked once,
the name on Chinese documents gets Pinyin for reviewers, places come from a cited gazetteer,
and citizenship, status in Kazakhstan, documents taken, travel ban and "were you told where
he is held" are one skippable button question each; an old case reads "not asked"."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from stdnum.cn import ric

from bot import gazetteer
from bot.case import CasePayload
from bot.case_upgrade import ASKED_SINCE_2026_11
from bot.choices import PREFECTURES, STATUSES
from bot.identity import id_check, id_problem, pinyin, well_formed
from bot.models import CaseStatus
from bot.reviewing.export import export
from bot.reviewing.export_csv import table_rows
from bot.reviewing.un import readiness
from bot.reviewing.un_draft import detail_line, hometown_line
from tests.harness import Harness
from tests.scenario import CODE, PERSONS

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas/case-v1.json").read_text())


def numbered(first17: str) -> str:
    """An ID number with its check digit (GB 11643)."""
    return first17 + ric.calc_check_digit(first17 + "0")


HIS_ID = numbered("65402319850101001")  # Huocheng county, 1 January 1985, a man (odd digit)


def test_an_id_number_is_checked_with_stdnum_and_against_what_she_said() -> None:
    born = {"year": 1985, "precision": "year"}
    assert id_problem(HIS_ID, born, "male") is None
    assert id_problem("12345") == "not 18 characters"
    assert id_problem(HIS_ID[:-1] + ("1" if HIS_ID[-1] != "1" else "2")) == (
        "check digit does not match"
    )
    assert id_problem(HIS_ID, {"year": 1970, "precision": "year"}) == (
        "birth year 1985 in the number, 1970 given"
    )
    assert id_problem(HIS_ID, {"year": 1980, "precision": "decade"}) is None
    assert id_problem(HIS_ID, born, "female") == "sex in the number differs from the one given"
    # A county code neither stdnum nor the gazetteer knows is said, not refused: codes change.
    assert id_problem(numbered("65400119800101001")) == "county code not known (codes change)"
    assert well_formed(numbered("65400119800101001")) and not well_formed("12345")
    assert id_check(HIS_ID, born, "female").startswith("unverified: sex")
    assert id_check(None) == ""


def test_a_five_digit_number_never_counts_as_the_identity_element() -> None:
    def identity(number: str) -> str:
        case = {"detainees": [{"name": "Ерлан", "id_number": number}], "consent": {}}
        return readiness(case)[0].elements["identity"]

    assert identity("12345") == "partial"
    assert identity(HIS_ID) == "present"


def test_pinyin_is_derived_from_han_characters_only() -> None:
    assert pinyin("叶尔兰·努尔哈力") == "yè ěr lán nǔ ěr hā lì"
    assert pinyin("Ерлан") == "" and pinyin(None) == ""


def test_the_gazetteer_backs_every_prefecture_button_and_cites_its_sources() -> None:
    places = gazetteer.places()
    for value, _label in PREFECTURES:
        if value != "elsewhere":
            assert places[value].level == "prefecture", value
    for wanted in ("karamay", "hami-barkol", "shihezi", "xpcc"):
        assert wanted in places
    cited = gazetteer.sources()
    for place in places.values():
        assert place.code.isdigit() and place.zh and place.pinyin and place.kk and place.kk_Arab
        assert place.sources and set(place.sources) <= set(cited)
        assert place.prefecture is None or places[place.prefecture].level == "prefecture"
    assert gazetteer.find("Тоғызтарау ауданы").code == "654024"  # type: ignore[union-attr]
    assert gazetteer.find("霍城县").id == "ili-huocheng"  # type: ignore[union-attr]
    assert gazetteer.find("Баркөл").id == "hami-barkol"  # type: ignore[union-attr]
    assert gazetteer.find("somewhere in Almaty") is None
    person = {"hometown": "ili", "hometown_detail": "Құлжа ауданы, Ақтоғай ауылы"}
    assert (
        hometown_line(person)
        == "Ili Kazakh Autonomous Prefecture (伊犁哈萨克自治州, GB/T 2260 6540)"
    )
    assert detail_line(person).startswith("Құлжа ауданы, Ақтоғай ауылы (gazetteer: Yining County")


def test_status_offers_detention_types_and_old_cases_read_not_asked() -> None:
    assert {"pretrial", "house_arrest", "travel_ban"} <= {value for value, _ in STATUSES}
    old = CasePayload.from_json(
        {
            "code": "AAAA-BBBB",
            "submitted_at": "2025-01-01T00:00:00+00:00",
            "locale": "kk",
            "testifier": {"relation": "son"},
            "detainees": [{"name": "Ерлан"}],
        }
    ).to_json()
    assert not set(ASKED_SINCE_2026_11) & set(old["detainees"][0])
    case = SimpleNamespace(code="AAAA-BBBB", status=CaseStatus.VERIFIED, grade="reported")
    [row] = table_rows(case, old, internal=True)  # type: ignore[arg-type]
    assert row["told_where__en"] == "Not asked" and row["name_han"] == "Not asked"
    assert row["citizenship__kk"] != "" and row["id_number_check"] == ""


async def _to_id_step(user: Any, gender: str = "male") -> None:
    await user.send_command("start")
    await user.press("lang:en")
    await user.press("i:safety:_continue")
    await user.press("i:relation:son")
    await user.press("i:own_name:_skip")
    await user.press("i:residence:_skip")
    await user.send_text("Ерлан Нұрғалиұлы")
    await user.press("i:name_alt:_skip")
    await user.send_text("Erlan")  # no Han characters: asked again, gently
    assert "Chinese characters" in user.last_text
    await user.send_text("叶尔兰·努尔哈力")
    await user.press(f"i:gender:{gender}")
    await user.send_text("1985")
    await user.press("i:hometown:karamay")
    # The gazetteer's counties of the prefecture she chose are buttons (she may still type).
    offered = [label for label, _data in user.buttons(user.messages[-1])]
    assert {"Dushanzi District", "Karamay District"} <= set(offered)
    await user.press("i:hometown_detail:karamay-dushanzi")
    await user.send_text("12.05.2018")
    await user.press("i:status:house_arrest")
    await user.press("i:told_where:no")
    for step in ("held_at", "last_contact", "occupation", "reason", "detained_place"):
        await user.press(f"i:{step}:_skip")
    await user.press("i:perpetrators:police")


async def test_a_wrong_id_number_is_re_asked_once_then_kept_as_she_wrote_it(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=9100, language_code="en")
    await _to_id_step(user, gender="female")  # the number says a man
    await user.send_text(HIS_ID)
    assert "check this number once more" in user.last_text
    await user.send_text(HIS_ID)  # as it is written on the card
    assert "check this number" not in user.last_text
    assert "citizenship" in user.last_text
    for step, value in (
        ("citizenship", "china"),
        ("kz_status", "kandas_applicant"),
        ("documents_taken", "yes"),
        ("travel_ban", "_unknown"),
        ("steps_taken", "_skip"),
    ):
        await user.press(f"i:{step}:{value}")
    await user.press("i:another:no")
    await user.send_text("They took her from work.")  # an empty story is not taken
    await user.press("i:narrative:_done")
    await user.press("i:evidence:_done")
    for step, value in (("consent_contact", "no"), ("consent_sharing", "organisations")):
        await user.press(f"i:{step}:{value}")
    await user.press("i:consent_un:no")
    await user.press("i:subscribe:no")
    await user.press("i:summary:submit")
    code = [m.group(0) for m in map(CODE.search, (m.text or "" for m in user.messages)) if m][-1]
    case = await harness.open_case(code)
    person = case["detainees"][0]
    assert person["id_number"] == HIS_ID and person["name_han"] == "叶尔兰·努尔哈力"
    assert (person["status"], person["told_where"], person["citizenship"]) == (
        "house_arrest",
        "no",
        "china",
    )
    assert (person["kz_status"], person["documents_taken"], person["travel_ban"]) == (
        "kandas_applicant",
        "yes",
        "_unknown",
    )
    assert person["hometown_detail"] == "karamay-dushanzi"
    assert detail_line(person) == "Dushanzi District (独山子区, GB/T 2260 650202)"
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED, grade="reported")
    out = tmp_path / "cases.jsonl"
    await export(reviewer, out, "jsonl", internal=True)
    [line] = [json.loads(row) for row in out.read_text().splitlines()]
    jsonschema.validate(line, SCHEMA)
    exported = line["detainees"][0]
    assert exported["id_check"] == "unverified: sex in the number differs from the one given"
    assert exported["name_pinyin"] == "yè ěr lán nǔ ěr hā lì"
    assert exported["detained"]["uwazi"] == "2018-05-12"
    rows = tmp_path / "cases.csv"
    await export(reviewer, rows, "csv", internal=True)
    with rows.open(encoding="utf-8-sig", newline="") as table:
        [row] = list(csv.DictReader(table))
    assert row["hometown_detail"] == "Dushanzi District" and row["hometown__kk"] == "Қарамай"
    assert row["told_where__en"] == "No" and row["citizenship__en"] == "China"


@pytest.mark.parametrize(
    ("value", "uwazi"),
    [
        ({"year": 2018, "month": 5, "day": 12, "precision": "day"}, "2018-05-12"),
        ({"year": 2024, "month": 2, "day": None, "precision": "month"}, "2024-02-01:2024-02-29"),
        ({"year": 2019, "month": None, "day": None, "precision": "year"}, "2019-01-01:2019-12-31"),
        ({"year": 1960, "precision": "decade"}, "1960-01-01:1969-12-31"),
        ({"year": None, "precision": "unknown"}, ""),
    ],
)
def test_dates_for_uwazi(value: dict[str, Any], uwazi: str) -> None:
    from bot.reviewing.export_facts import uwazi_date

    assert uwazi_date(value) == uwazi


def test_scenario_id_number_checks() -> None:
    born = {"year": 1985, "precision": "approximate"}
    assert id_problem(str(PERSONS[0]["id_number"]), born, "male") is None
