"""A relative walks the whole intake through the real Application and the fake Bot API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.case import CONSENT_TEXT
from bot.models import Attachment, Case, CaseStatus, Draft
from bot.services.outbox import ALERT
from handlers.outbox import send_now
from tests.harness import Harness
from tests.scenario import (
    CODE,
    LONG_STORY,
    PDF,
    PERSONS,
    PHOTO_1,
    PHOTO_2,
    VOICE,
    answer_or_skip,
    walk_intake,
)

__all__ = [
    "CODE",
    "LONG_STORY",
    "PDF",
    "PERSONS",
    "PHOTO_1",
    "PHOTO_2",
    "VOICE",
    "answer_or_skip",
    "walk_intake",
]


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
async def test_one_person_by_text_in_each_language(harness: Harness, locale: str) -> None:
    user = harness.user(user_id=2001, language_code=locale)
    code = await walk_intake(user, locale=locale, persons=PERSONS[:1])
    case = await harness.open_case(code)
    assert case["schema_version"] == 1
    assert case["locale"] == locale
    assert case["testifier"] == {"own_name": "Гүлбаһрам", "residence": "Алматы, Қазақстан"}
    person = case["detainees"][0]
    assert person["relation"] == "son"  # her answer "my son", on the person it is about
    assert person["name"] == "Ерлан Нұрғалиұлы"
    assert person["name_alt"] == "叶尔兰·努尔哈力"
    assert person["birth_year"]["year"] == 1985
    assert person["birth_year"]["precision"] == "approximate"
    assert person["hometown"] == "ili"
    assert person["hometown_detail"] == "Құлжа ауданы"
    assert (person["detained"]["year"], person["detained"]["month"]) == (2018, 5)
    assert person["status"] == "camp"
    assert person["reason"] == "Қазақстанға барғаны үшін"
    assert [piece["text"] for piece in case["narrative"]] == [
        LONG_STORY,
        "Мен консулдыққа хат жаздым.",
    ]
    assert case["consent"] == {
        "contact": True,
        "sharing": "organisations",
        "subscribe": False,
        "un_submission": True,
        "un_name_disclosed": False,
        "text_version": CONSENT_TEXT,  # the wording she answered, and the day she agreed
        "agreed_on": datetime.now(UTC).date().isoformat(),
    }
    assert person["perpetrators"] == "police"
    assert person["steps_taken"] == "Консулдыққа хат жаздым, жауап келмеді."
    evidence = {item["kind"]: 0 for item in case["evidence"]}
    for item in case["evidence"]:
        evidence[item["kind"]] += 1
    assert evidence == {"photo": 2, "document": 1}
    opened = [await harness.open_attachment(item["uid"]) for item in case["evidence"]]
    assert opened == [PHOTO_1, PHOTO_2, PDF]
    # Sizes are in each file's sealed record now, not in the payload or in the clear.
    reviewer = harness.reviewer_tool()
    records = [await reviewer.attachment(item["uid"]).record() for item in case["attachments"]]
    assert sorted(r.size for r in records) == sorted(len(b) for b in (PHOTO_1, PHOTO_2, PDF))


async def test_two_people_by_voice(harness: Harness) -> None:
    user = harness.user(user_id=2002, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS, by_voice=True)
    case = await harness.open_case(code)
    assert len(case["detainees"]) == 2
    names = [person["name"] for person in case["detainees"]]
    assert all("voice" in name for name in names)
    assert await harness.open_attachment(names[0]["voice"]) == VOICE + b"\x00"
    assert await harness.open_attachment(names[1]["voice"]) == VOICE + b"\x01"
    assert case["detainees"][1]["birth_year"] == {
        "year": 1960,
        "precision": "decade",
        "text": "1960s",
    }
    voices = [piece for piece in case["narrative"] if "voice" in piece]
    assert len(voices) == 1
    assert await harness.open_attachment(voices[0]["voice"]) == VOICE
    async with harness.services.sessionmaker() as session:
        row = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert row.detainee_count == 2
        assert row.attachment_count == 6  # 2 names, 1 story, 2 photos, 1 PDF
        assert row.status == CaseStatus.RECEIVED


async def test_draft_is_wiped_after_submit(harness: Harness) -> None:
    user = harness.user(user_id=2003, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS[:1])
    async with harness.services.sessionmaker() as session:
        drafts = await session.scalar(select(func.count(Draft.id)).where(Draft.kind == "user"))
        loose = await session.scalar(
            select(func.count(Attachment.id)).where(Attachment.case_id.is_(None))
        )
    assert loose == 0
    # What remains of her user data holds no answer (only her language and message ids).
    assert "draft" not in harness.app.user_data[2003]  # type: ignore[union-attr]
    assert drafts is not None


async def test_the_case_code_and_the_delete_offer(harness: Harness) -> None:
    user = harness.user(user_id=2004, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    assert any(code in (m.text or "") for m in user.messages)
    assert user.buttons()[0][1] == "wipe:yes"
    seen_before = len(user.all_messages)
    await user.press("wipe:yes")
    remaining = [m for m in user.all_messages if not m.deleted]
    assert len(remaining) < seen_before
    assert not any(code in (m.text or "") for m in remaining)
    assert "delete the chat" in user.last_text.lower() or "Delete" in user.last_text
    assert all(m.protect_content for m in user.messages[:-1] if m.from_bot)


async def test_reviewers_hear_of_a_new_case_by_code_and_counts_only(harness: Harness) -> None:
    from bot.models import Role

    await harness.services.roles.grant("cli", 4100, Role.REVIEWER)
    await harness.services.accounts.set_locale(4100, "en")  # staff read alerts in their own
    reviewer = harness.user(user_id=4100, language_code="en")
    relative = harness.user(user_id=4101, language_code="en")
    code = await walk_intake(relative, locale="en", persons=PERSONS[:1])
    assert await send_now(harness.app, ALERT) == 1  # type: ignore[arg-type]
    note = reviewer.last_text
    assert code in note and "People: 1" in note and "Files: 3" in note
    assert "Ерлан" not in note and reviewer.last.protect_content


async def test_the_updates_question_subscribes_only_on_yes(harness: Harness) -> None:
    user = harness.user(user_id=4200, language_code="kk")
    await walk_intake(user, locale="kk", persons=PERSONS[:1])
    account = await harness.services.accounts.find(4200)
    assert account is not None and account.subscribed is False
