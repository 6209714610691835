"""The case record: one typed owner for what a relative gave (bot/case.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.case import (
    DETAINEE_FIELDS,
    FIELDS,
    TESTIFIER_FIELDS,
    UNKNOWN,
    CasePayload,
    Detainee,
    Voice,
    When,
    Words,
    describe,
    parse_answer,
)
from bot.case import (
    Testifier as _Testifier,
)
from bot.i18n import Catalogs
from bot.services.intake import STEPS
from tests.harness import Harness
from tests.test_intake_dialogue import PERSONS, walk_intake


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    Catalogs.load().install()


TODAY_SHAPE = Path(__file__).parent / "data" / "case-v1.json"
PARTS = {"about": "testifier", "person": "detainee", "consent": "consent"}


def test_every_question_that_keeps_an_answer_is_a_field_of_the_record() -> None:
    asked = {s.name: PARTS[s.part] for s in STEPS if s.part in PARTS and s.kind != "info"}
    asked.pop("another")  # the dialogue's own question, not a fact about anyone
    assert asked == {name: spec.part for name, spec in FIELDS.items()}
    assert set(TESTIFIER_FIELDS) == set(_Testifier.model_fields)
    assert set(DETAINEE_FIELDS) == set(Detainee.model_fields) - {"another"}
    for step in STEPS:
        if step.name in FIELDS and step.options:
            # The same values; relation's buttons are her own words ("My son").
            values = [value for value, _label in FIELDS[step.name].options]
            assert [value for value, _label in step.options] == values, step.name


def test_a_payload_sealed_in_todays_shape_opens_and_keeps_its_shape() -> None:
    raw = json.loads(TODAY_SHAPE.read_text(encoding="utf-8"))
    payload = CasePayload.from_json(raw)
    assert payload.to_json() == raw
    first, second = payload.detainees
    assert first.birth_year == When(year=1985, precision="approximate", text="шамамен 1985")
    assert first.status == "camp" and second.name_alt is None
    assert payload.consent.sharing == "organisations" and payload.consent.un_submission


def test_a_case_sealed_when_relation_was_asked_once_gives_it_to_person_1_only() -> None:
    """Before 2026-11 relation was asked once ("who is the detained person to you?") and
    sealed with her details: it is person 1's; person 2 reads "not asked"."""
    raw = json.loads(TODAY_SHAPE.read_text(encoding="utf-8"))
    for person in raw["detainees"]:
        person.pop("relation")
    raw["testifier"] = {"relation": "son", **raw["testifier"]}
    payload = CasePayload.from_json(raw)
    assert "relation" not in payload.testifier.model_fields_set
    first, second = payload.detainees
    assert first.relation == "son" and second.relation is None
    assert (
        CasePayload.assemble(
            {k: v for k, v in raw.items() if k not in ("testifier", "detainees", "narrative")},
            [("testifier.relation", "son"), ("detainees.0.name", "A"), ("detainees.1.name", "B")],
        )
        .detainees[0]
        .relation
        == "son"
    )


def test_a_payload_from_a_newer_program_is_refused_not_misread() -> None:
    raw = json.loads(TODAY_SHAPE.read_text(encoding="utf-8")) | {"schema_version": 99}
    with pytest.raises(ValueError, match="newer"):
        CasePayload.from_json(raw)


def test_a_case_taken_apart_into_pieces_is_put_together_the_same() -> None:
    payload = CasePayload.from_json(json.loads(TODAY_SHAPE.read_text(encoding="utf-8")))
    header = payload.to_json()
    for part in ("testifier", "detainees", "narrative"):
        header.pop(part)
    again = CasePayload.assemble(header, payload.pieces())
    assert again.to_json() == payload.to_json()


def test_answers_have_types() -> None:
    assert parse_answer({"voice": "ab12"}) == Voice(voice="ab12")
    assert parse_answer({"text": "my cousin"}) == Words(text="my cousin")
    unknown_year = parse_answer({"year": None, "precision": "unknown", "text": "?"})
    assert isinstance(unknown_year, When) and unknown_year.year is None
    assert parse_answer("mother") == "mother" and parse_answer(None) is None


@pytest.mark.parametrize(
    ("field", "value", "en", "ru"),
    [
        ("relation", "mother", "Mother of the testifier", "Мать заявителя"),
        ("relation", {"text": "my cousin"}, "my cousin", "my cousin"),
        ("hometown", UNKNOWN, "Unknown", "Неизвестно"),
        ("status", "camp", "In a «re-education» camp", "В лагере «перевоспитания»"),
        ("birth_year", {"year": 1960, "precision": "decade", "text": "60s"}, "1960s", "1960-е"),
        ("detained", {"year": 2018, "month": 5, "precision": "month"}, "05.2018", "05.2018"),
        ("own_name", {"voice": "ab12"}, "voice message", "голосовое сообщение"),
        ("held_at", None, "", ""),
        ("consent_sharing", "publish_anonymous", "May be published, names withheld", None),
    ],
)
def test_describe_is_the_one_way_a_value_becomes_words(
    field: str, value: object, en: str, ru: str | None
) -> None:
    assert describe(field, value, "en") == en
    if ru is not None:
        assert describe(field, value, "ru") == ru


async def test_a_case_sealed_by_the_bot_opens_as_the_record(harness: Harness) -> None:
    user = harness.user(user_id=8800, language_code="ru")
    code = await walk_intake(user, locale="ru", persons=PERSONS, by_voice=True)
    payload = CasePayload.from_json(await harness.open_case(code))
    assert payload.code == code and len(payload.detainees) == 2
    assert all(isinstance(person.name, Voice) for person in payload.detainees)
    assert payload.files_named() == {item.uid for item in payload.attachments}
