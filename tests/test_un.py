"""UN-ready cases: the six elements, the urgent flag, filling gaps, and the .odt draft."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from odf import teletype
from odf.opendocument import load
from odf.text import H, P

from bot.crypto.roster import Organisation
from bot.reviewing.un import MISSING, PARTIAL, PRESENT, readiness, write_draft
from bot.services.outbox import ALERT
from bot.services.urgency import is_urgent
from handlers.followup import deliver_questions
from handlers.outbox import send_now
from tests.harness import Harness
from tests.test_intake_dialogue import PERSONS, walk_intake

FULL: dict[str, Any] = {
    "name": "Ерлан Нұрғалиұлы",
    "id_number": "654321198501011234",
    "detained": {"year": 2018, "month": 5, "day": 12, "precision": "day"},
    "detained_place": "Құлжа, өз үйі",
    "perpetrators": "police",
    "steps_taken": "Консулдыққа хат жаздым.",
}
ORGANISATION = Organisation("Atajurt Eriktileri", "Almaty, Abai 1", "Serik, team@example.org")


def payload(person: dict[str, Any], *, un: bool = True, name_ok: bool = False) -> dict[str, Any]:
    return {
        "detainees": [person],
        "testifier": {"relation": "mother", "own_name": "Гүлбаһрам"},
        "evidence": [],
        "attachments": [{"uid": "u1", "kind": "photo", "sha256": "ab" * 32, "size": 10}],
        "consent": {"un_submission": un, "un_name_disclosed": name_ok},
        "narrative": [{"text": "Олар түнде келді."}],
    }


def test_readiness_complete_partial_and_empty() -> None:
    complete = readiness(payload(FULL), ORGANISATION)[0]
    assert complete.ready and set(complete.elements.values()) == {PRESENT}
    # Her consent alone is not element (f): the submitting organisation is the team's part.
    unnamed = readiness(payload(FULL))[0]
    assert unnamed.elements["source"] == PARTIAL and not unnamed.ready and unnamed.missing == []
    partial = readiness(
        payload(
            {
                "name": "Серік",
                "detained": {"year": 2017, "precision": "year"},
                "held_at": "лагерь",
            },
            un=False,
        )
    )[0]
    assert partial.elements == {
        "identity": PARTIAL,
        "date": PARTIAL,
        "place": PARTIAL,
        "forces": MISSING,
        "steps": MISSING,
        "source": MISSING,
    }
    empty = readiness(payload({}, un=False))[0]
    assert set(empty.elements.values()) == {MISSING}
    assert (
        readiness(payload({"name": "Серік", "perpetrators": "_unknown"}))[0].elements["forces"]
        == MISSING
    )


@pytest.mark.parametrize(("days", "urgent"), [(89, True), (91, False)])
def test_urgent_at_89_and_91_days(days: int, urgent: bool) -> None:
    taken = date(2026, 6, 1)
    person = {
        "detained": {"year": taken.year, "month": taken.month, "day": taken.day, "precision": "day"}
    }
    assert is_urgent(person, taken + timedelta(days=days)) is urgent


def text_of(path: Path) -> tuple[list[str], str]:
    document = load(str(path))
    headings = [teletype.extractText(h) for h in document.getElementsByType(H)]
    body = "\n".join(teletype.extractText(p) for p in document.getElementsByType(P))
    return headings, body


def test_the_odt_draft_has_the_sections_and_keeps_her_name_confidential(tmp_path: Path) -> None:
    out = tmp_path / "draft.odt"
    write_draft(
        out,
        payload(FULL),
        1,
        code="K7QF-M2XD",
        summary="He was taken at night.",
        received=datetime(2018, 6, 1),
        made=date(2018, 6, 1),
    )
    headings, body = text_of(out)
    for section in ("1. Identity", "2. Date", "3. Place", "4. Forces", "5. Steps", "6. Source"):
        assert any(h.startswith(section) for h in headings), section
    assert "Ерлан Нұрғалиұлы" in body and "Erlan Nurghaliuly" in body
    assert "The source requests confidentiality." in body and "Гүлбаһрам" not in body
    assert "Urgent procedure: yes" in body and "He was taken at night." in body
    assert "ab" * 32 in body
    named = tmp_path / "named.odt"
    write_draft(
        named,
        payload(FULL, name_ok=True),
        1,
        code="K7QF-M2XD",
        summary="",
        received=datetime(2019, 1, 1),
    )
    assert "Гүлбаһрам" in text_of(named)[1]
    with pytest.raises(PermissionError, match="did not agree"):
        write_draft(
            tmp_path / "no.odt",
            payload(FULL, un=False),
            1,
            code="K7QF-M2XD",
            summary="",
            received=datetime(2019, 1, 1),
        )


@pytest.mark.skipif(
    shutil.which("soffice") is None and shutil.which("libreoffice") is None,
    reason="LibreOffice is not installed",
)
def test_libreoffice_converts_the_draft_to_pdf(tmp_path: Path) -> None:
    out = tmp_path / "draft.odt"
    write_draft(out, payload(FULL), 1, code="K7QF-M2XD", summary="", received=datetime(2019, 1, 1))
    office = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run(  # noqa: S603
        [str(office), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "draft.pdf").read_bytes().startswith(b"%PDF")


async def test_a_missing_element_is_asked_in_her_language_and_her_confirmed_answer_fills_it(
    harness: Harness,
) -> None:
    user = harness.user(user_id=9700, language_code="ru")
    person = dict(PERSONS[0], steps_taken=None, perpetrators="_unknown")
    code = await walk_intake(user, locale="ru", persons=[person])
    reviewer = harness.reviewer_tool()
    opened = await reviewer.show(code)
    before = readiness(opened.payload)[0]
    assert before.missing == ["date", "forces", "steps"]  # 05.2018 is month precision
    asked = await reviewer.followups.ask_missing(code)
    assert asked == before.missing
    await deliver_questions(harness.app)  # type: ignore[arg-type]
    # The team asks "for a possible UN submission", once, never "for the UN" as if the UN asked.
    assert "\nДля возможного обращения в ООН:\nЗнаете ли вы точную дату" in user.last_text
    assert "Кто забрал человека" in user.last_text
    assert "Для ООН:" not in user.last_text and user.last_text.count("ООН") == 1
    followup = (await reviewer.followups.of(code))[0]
    assert "Знаете ли вы точную дату" in followup["question"]
    button = user.buttons()[0][1]
    await user.press(button)
    await user.send_text("12 мая 2018, забрала полиция; писала в МИД, ответа не было.")
    await user.press(button.replace("fu:", "fudone:"))
    answers = (await reviewer.followups.of(code))[0]["answers"]
    text = await reviewer.attachment(answers[0]["uid"]).read()
    assert "забрала полиция" in text.decode()
    # Her answer fills nothing until a reviewer confirms what it gives.
    items, answers = await reviewer.followups.readiness(code)
    assert items[0].missing == before.missing and answers == [text.decode()]
    await reviewer.followups.confirm(code, followup["uid"], ("date", "forces", "steps"))
    items, answers = await reviewer.followups.readiness(code, 1)
    assert items[0].missing == [] and answers == [text.decode()]
    # Element (f) also needs the submitting organisation, which the test roster does not name.
    assert items[0].elements["source"] == PARTIAL
    assert code not in await reviewer.followups.ready_for_wgeid()


async def test_urgent_cases_are_flagged_to_reviewers_and_in_the_queue(harness: Harness) -> None:
    from bot.models import Role

    await harness.services.roles.grant("cli", 9801, Role.REVIEWER)
    await harness.services.accounts.set_locale(9801, "en")  # staff read alerts in their own
    reviewer_chat = harness.user(user_id=9801, language_code="en")
    user = harness.user(user_id=9800, language_code="en")
    recent = date.today() - timedelta(days=20)
    person = dict(PERSONS[0], detained=recent.strftime("%d.%m.%Y"))
    code = await walk_intake(user, locale="en", persons=[person])
    assert await send_now(harness.app, ALERT) == 1  # type: ignore[arg-type]
    assert "Urgent" in reviewer_chat.last_text and code in reviewer_chat.last_text
    reviewer = harness.reviewer_tool()
    assert [item.urgent for item in await reviewer.queue() if item.code == code] == [True]
