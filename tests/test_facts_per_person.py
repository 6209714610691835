"""Facts belong to a person: a mother reports her son and her husband (issue 18).

Each person's UN draft and CSV row carry his own relation to her, said so that it cannot be
read backwards; a follow-up question names its person by number, and only what a reviewer
confirmed her answer gives counts, for that person alone ("I don't know" fills nothing).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from bot.case import UN_ELEMENTS
from bot.choices import DOC_TYPES, RELATIONS
from bot.crypto.delivery import signer_fingerprint
from bot.i18n import LOCALES, translate
from bot.models import CaseStatus
from bot.reviewing.assignments import assign
from bot.reviewing.cases import ReviewError
from bot.reviewing.export import export
from bot.reviewing.un import ELEMENTS, MISSING, PARTIAL, PRESENT, draft_case
from bot.services import audit
from bot.services.file_tags import WHAT, WHOSE
from bot.services.questions import BY_NAME
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import PERSONS, walk_intake
from tests.test_un import text_of

SON, HUSBAND = PERSONS  # as she answers: "my son", "my husband"


async def _answer(harness: Harness, user: Any, text: str) -> None:
    """She opens the newest question, answers in writing and presses Done."""
    await deliver_questions(harness.app)  # type: ignore[arg-type]
    button = user.buttons()[0][1]
    await user.press(button)
    await user.send_text(text)
    await user.press(button.replace("fu:", "fudone:"))


async def test_a_mother_reporting_her_son_and_her_husband(harness: Harness, tmp_path: Path) -> None:
    user = harness.user(user_id=9900, language_code="en")
    # Her son's ID card, a photo of her husband, and a letter she does not describe.
    about = ((1, "id_card"), (2, "photo_of_person"), None)
    await walk_intake(user, locale="en", persons=[SON, HUSBAND], submit=False, files_about=about)
    assert "Which person is this file about?" in "".join(m.text or "" for m in user.messages)
    # The relation is asked for each person, with her own first-person answers.
    asked = [m.text for m in user.messages if (m.text or "").endswith("detained person to you?")]
    assert len(asked) == 2 and asked[1].startswith("Person 2.")
    texts = [m.text or "" for m in user.messages]
    start = max(i for i, text in enumerate(texts) if text.startswith("Please check your answers"))
    summary = "\n".join(texts[start:])
    assert summary.count("My son") == 1 and summary.count("My husband") == 1
    await user.press("i:summary:submit")
    code = next(m.text for m in user.messages if m.text and "Case code" in m.text)
    code = code.split("Case code: ", 1)[1].split("\n", 1)[0]
    case = await harness.open_case(code)
    assert [p["relation"] for p in case["detainees"]] == ["son", "husband"]
    assert "relation" not in case["testifier"]
    evidence = [(e.get("person"), e.get("doc_type")) for e in case["evidence"]]
    assert evidence == [*about[:2], (None, None)]

    reviewer = harness.reviewer_tool()
    opened = (await reviewer.show(code)).payload  # the files' hashes filled in from their records
    shas = {a["uid"]: a["sha256"] for a in opened["attachments"]}
    card, photo, letter = (shas[e["uid"]] for e in case["evidence"])
    # The follow-up for person 2 names him by number, never by name, in her language.
    before = (await reviewer.followups.readiness(code))[0]
    assert before[1].elements["date"] != PRESENT and before[0].elements["date"] != PRESENT
    await reviewer.followups.ask(code, "Do you know the exact day?", elements=("date",), person=2)
    await deliver_questions(harness.app)  # type: ignore[arg-type]
    assert user.last_text.endswith(":\n\nPerson 2.\nDo you know the exact day?")
    assert "Nurgali" not in user.last_text and "Ерлан" not in user.last_text
    button = user.buttons()[0][1]
    await user.press(button)
    await user.send_text("I don't know")
    await user.press(button.replace("fu:", "fudone:"))
    [about_him] = await reviewer.followups.of(code)
    assert (about_him["person"], about_him["elements"]) == (2, ["date"])
    # Her answer, "I don't know", makes nothing present; confirming it gives nothing either.
    items, _texts = await reviewer.followups.readiness(code)
    assert items[1].elements == before[1].elements
    await reviewer.followups.confirm(code, about_him["uid"], ())
    items, _texts = await reviewer.followups.readiness(code)
    assert items[1].elements == before[1].elements

    # A question about her son, answered and confirmed: his date only.
    await reviewer.followups.ask(code, "Which day was he taken?", elements=("date",), person=1)
    await _answer(harness, user, "12.05.2018, at home")
    about_son = (await reviewer.followups.of(code))[1]
    with pytest.raises(ReviewError, match="asks about person 1"):
        await reviewer.followups.confirm(code, about_son["uid"], ("date",), person=2)
    await reviewer.followups.confirm(code, about_son["uid"], ("date",))
    items, _texts = await reviewer.followups.readiness(code)
    assert items[0].elements["date"] == PRESENT
    assert items[1].elements["date"] == before[1].elements["date"] != PRESENT

    # Each person's draft: his own relation, said the one way it reads, and his answers only.
    son = text_of(await draft_case(reviewer, code, 1, lambda _c: tmp_path / "1.odt"))[1]
    husband = text_of(await draft_case(reviewer, code, 2, lambda _c: tmp_path / "2.odt"))[1]
    assert (
        "Relation of the source to the person: the source is the person's parent: "
        "the person is the source's son" in son
    )
    assert (
        "Relation of the source to the person: the source is the person's spouse: "
        "the person is the source's husband" in husband
    )
    assert "husband" not in son and "source's son" not in husband
    assert "12.05.2018, at home" in son and "12.05.2018, at home" not in husband
    assert "I don't know" not in husband
    # His own files only; the letter she did not attribute is nobody's, and says so.
    assert f"photo (ID card): {card}" in son and card not in husband
    assert f"photo (Photo of the person): {photo}" in husband and photo not in son
    for draft in (son, husband):
        assert f"document, not attributed: {letter}" in draft
    # Identity from his own identity document or photo, never another person's.
    assert items[0].elements["identity"] == items[1].elements["identity"] == PRESENT

    # Every CSV row has its own person's relation.
    out = tmp_path / "cases.csv"
    await export(reviewer, out, "csv", statuses=tuple(CaseStatus), internal=True)
    with out.open(encoding="utf-8-sig", newline="") as table:
        rows = [row for row in csv.DictReader(table) if row["case_code"] == code]
    assert [row["relation__en"] for row in rows] == [
        "Son of the testifier",
        "Husband of the testifier",
    ]
    assert [row["relation__ru"] for row in rows] == ["Сын заявителя", "Муж заявителя"]


async def test_a_question_about_a_person_the_case_does_not_have_is_refused(
    harness: Harness,
) -> None:
    """The bot checks the person in a signed question request against the case's count."""
    user = harness.user(user_id=9910, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=[SON])
    tools = harness.reviewer_tool()
    with pytest.raises(ReviewError, match="1 detained person"):
        await tools.followups.ask(code, "Күнін білесіз бе?", person=2)  # her tools refuse
    real = tools.requests.submit

    for forged, said in ((2, "has no person 2"), (0, "has no person 0"), ("1", "cannot")):

        async def forging(kind: str, body: dict[str, Any], forged: Any = forged, **kw: Any) -> str:
            return await real(kind, body | {"person": forged}, **kw)

        tools.requests.submit = forging  # type: ignore[method-assign]
        with pytest.raises(ReviewError, match=said):
            await tools.followups.ask(code, "Күнін білесіз бе?")
    tools.requests.submit = real  # type: ignore[method-assign]
    assert await tools.followups.of(code) == []
    # A confirmation names UN elements only.
    with pytest.raises(ReviewError, match="no such UN element"):
        await tools.followups.confirm(code, "ab" * 16, ("birthday",))


async def test_an_unassigned_question_counts_for_no_one_until_a_reviewer_assigns_it(
    harness: Harness,
) -> None:
    user = harness.user(user_id=9920, language_code="ru")
    code = await walk_intake(user, locale="ru", persons=[SON, HUSBAND])
    reviewer = harness.reviewer_tool()
    await reviewer.followups.ask(code, "Кто его забрал?", elements=("forces",))
    await _answer(harness, user, "Полиция")
    [question] = await reviewer.followups.of(code)
    assert question["person"] is None
    before, _texts = await reviewer.followups.readiness(code)
    # Two photos she did not describe identify nobody: her husband has no ID number.
    assert before[1].elements["identity"] == PARTIAL
    with pytest.raises(ReviewError, match="say which person"):
        await reviewer.followups.confirm(code, question["uid"], ("forces",))
    assert before[1].elements["forces"] == MISSING  # she did not know who took her husband
    await reviewer.followups.confirm(code, question["uid"], ("forces",), person=2)
    items, _texts = await reviewer.followups.readiness(code)
    assert items[1].elements["forces"] == PRESENT and items[0].elements == before[0].elements
    assert (await reviewer.followups.of(code))[0]["person"] == 2


def test_the_elements_are_one_list_and_every_new_string_is_in_every_language() -> None:
    assert tuple(name for name, _label in ELEMENTS) == UN_ELEMENTS
    labels = [label for _value, label in BY_NAME["relation"].options]
    files = [WHOSE, WHAT, "Noted. Send more, or press Done.", *(label for _v, label in DOC_TYPES)]
    records = [label for _value, label in RELATIONS]
    for locale in LOCALES:
        for msgid in [*labels, *records, *files, "Not asked", "Person {number}."]:
            assert translate(locale, msgid) and (
                locale == "en" or translate(locale, msgid) != msgid
            )
    assert [translate("kk", label) for label in labels][:3] == ["Ұлым", "Қызым", "Күйеуім"]
    assert translate("ru", BY_NAME["relation"].question) == "Кем вам приходится этот человек?"


async def test_the_console_asks_about_one_person_and_confirms_what_her_answer_gives(
    harness: Harness, tmp_path: Path
) -> None:
    import re

    import httpx

    from bot.reviewing.console.app import create_app
    from bot.reviewing.pins import Pins
    from tests.test_console import PASSPHRASE, a_key

    user = harness.user(user_id=9930, language_code="kk")
    about = ((1, "id_card"), None, None)
    code = await walk_intake(user, locale="kk", persons=[SON, HUSBAND], files_about=about)
    app = create_app(
        harness.services.sessionmaker,
        a_key(harness, tmp_path),
        pins=Pins(inbox_fingerprint=harness.inbox_fingerprint),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        found = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
        assert found is not None
        csrf = found.group(1)
        await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
        ask = {"csrf": csrf, "question": "Оны кім алып кетті?", "person": "2"}
        await client.post(f"/case/{code}/ask", data=ask)
        await _answer(harness, user, "Полиция")
        # She reads which person it is about, by number, in Kazakh.
        assert any("2-адам.\nОны кім алып кетті?" in (m.text or "") for m in user.messages)
        [question] = await harness.reviewer_tool().followups.of(code)
        page = (await client.get(f"/case/{code}")).text
        assert 'name="element_forces"' in page and 'name="element_source"' not in page
        confirm = {"csrf": csrf, "followup": question["uid"], "element_forces": "1"}
        await client.post(f"/case/{code}/confirm", data=confirm)
    items, _texts = await harness.reviewer_tool().followups.readiness(code)
    assert items[1].elements["forces"] == PRESENT
    assert items[0].elements["identity"] == PRESENT  # his ID card, said to be his


async def test_a_reviewer_attributes_a_file_she_did_not_and_the_draft_says_whose_word_it_is(
    harness: Harness, tmp_path: Path
) -> None:
    """A file she left unattributed is attributed by a reviewer's signed request: listed
    under the person as the team's attribution, never as hers; a file she attributed herself
    stays hers; an attribution written into the log without her signature is ignored."""
    user = harness.user(user_id=9960, language_code="en")
    about = ((1, "id_card"), None, None)
    code = await walk_intake(user, locale="en", persons=[SON, HUSBAND], files_about=about)
    reviewer = harness.reviewer_tool()
    evidence = (await reviewer.opened(code)).payload["evidence"]
    card, letter, photo = (item["uid"] for item in evidence)
    with pytest.raises(ReviewError, match="stays hers"):
        await assign(reviewer, code, card, 2, "other")
    with pytest.raises(ReviewError, match="2 detained person"):
        await assign(reviewer, code, letter, 3, "verdict")
    assert await assign(reviewer, code, letter, 2, "detention_notice") == "applied"
    # Someone who writes to the database appends an attribution of his own.
    async with harness.services.sessionmaker() as session, session.begin():
        await audit.record(
            session,
            actor=harness.reviewer.key_id,
            action="file.assigned",
            target=code,
            detail={"file": photo, "person": 1, "doc_type": "photo_of_person"},
        )
    opened = (await reviewer.opened(code)).payload["evidence"]
    marks = {item["uid"]: (item.get("person"), item.get("assigned_by")) for item in opened}
    assert marks[card] == (1, None)  # hers
    # The team's, by the key that signed it (never the log's unsigned actor column).
    signed_by = signer_fingerprint(harness.reviewer.signing_key().public_key())[:16]
    assert marks[letter] == (2, signed_by)
    assert marks[photo] == (None, None)  # the unsigned row is ignored
    text = text_of(await draft_case(reviewer, code, 2, lambda c: tmp_path / f"{c}-2.odt"))[1]
    kind = next(item["kind"] for item in opened if item["uid"] == letter)
    assert f"{kind} (Detention notice, attributed by the team, not by the relative)" in text
    assert text.count("not attributed") == 1  # the unsigned one stays nobody's
