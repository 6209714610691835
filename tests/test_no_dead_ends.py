"""No dead ends for the relative (issue 19): the summary, edits, typed text at button
questions, old buttons, /help, /withdraw twice, "needs information", /subscribe's language,
and the caps on what one draft (and one account in a day) may hold."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from bot.models import Case, CaseStatus, Role
from tests.harness import Harness
from tests.scenario import (
    CODE,
    PERSONS,
    PHOTO_1,
    PHOTO_2,
    file_tag,
    receipt_of,
    walk_intake,
    withdraw,
)
from tests.test_intake_robustness import current_step, to_step


async def to_summary(user) -> None:
    """A fresh user, in English, at the summary."""
    await to_step(user, "evidence")
    await user.press("i:evidence:_done")
    await user.press("i:consent_contact:no")
    await user.press("i:consent_sharing:team")
    await user.press("i:consent_un:no")
    await user.press("i:subscribe:no")


def draft(harness: Harness, user_id: int) -> dict:
    return harness.app.user_data[user_id]["draft"]  # type: ignore[return-value]


async def test_typing_at_the_summary_shows_the_summary_again(harness: Harness) -> None:
    user = harness.user(user_id=7101, language_code="en")
    await to_summary(user)
    for typed in ("send", "жіберу"):
        await user.send_text(typed)
        assert "Something went wrong" not in user.last_text
        assert "Submit sends them" in user.last_text
        assert "Please check your answers." in user.last_text
        assert "i:summary:submit" in [data for _label, data in user.buttons()]
    assert await current_step(harness, user.user_id) == "summary"


async def test_an_edit_shows_the_earlier_answer_and_skip_keeps_it(harness: Harness) -> None:
    user = harness.user(user_id=7102, language_code="en")
    await to_summary(user)
    await user.press("i:summary:edit:about")
    await user.send_text("Айгүл Серікқызы")
    await user.send_text("Almaty, Kazakhstan")
    assert await current_step(harness, user.user_id) == "summary"
    await user.press("i:summary:edit:about")
    assert "Your answer so far: Айгүл Серікқызы" in user.last_text
    await user.press("i:own_name:_skip")  # Skip while editing keeps what she said
    assert "Your answer so far: Almaty, Kazakhstan" in user.last_text
    await user.press("i:residence:_keep")
    assert "Айгүл Серікқызы" in user.last_text and "Almaty, Kazakhstan" in user.last_text
    # A person's name (no Skip there) is kept with Keep.
    await user.press("i:summary:edit:person:0")
    relation = draft(harness, user.user_id)["detainees"][0]["relation"]
    assert "Your answer so far: My daughter" in user.last_text
    await user.press("i:relation:_keep")
    assert "Your answer so far: Серік Жұмабай" in user.last_text
    await user.press("i:name:_keep")
    assert draft(harness, user.user_id)["detainees"][0]["relation"] == relation


async def test_typed_text_at_a_button_question_is_asked_again(harness: Harness) -> None:
    user = harness.user(user_id=7103, language_code="en")
    await to_step(user, "relation")
    await user.send_text("spam 1")
    assert "Please choose one of the buttons." in user.last_text
    assert await current_step(harness, user.user_id) == "relation"
    assert "i:relation:_type" in [data for _label, data in user.buttons()]
    await user.send_voice(b"OggS" + b"voice" * 100)  # not kept either, before "Other"
    assert "Please choose one of the buttons." in user.last_text
    assert not draft(harness, user.user_id).get("files")
    await user.press("i:relation:_type")
    assert "Please type your answer" in user.last_text
    await user.send_text("My nephew")
    assert await current_step(harness, user.user_id) == "own_name"
    assert draft(harness, user.user_id)["detainees"][0].get("relation")  # her words, sealed


async def test_status_takes_no_stray_text(harness: Harness) -> None:
    user = harness.user(user_id=7104, language_code="en")
    await to_step(user, "detained")
    await user.send_text("2017")
    assert await current_step(harness, user.user_id) == "status"
    await user.send_text("spam 1")
    assert await current_step(harness, user.user_id) == "status"
    assert "Please choose one of the buttons." in user.last_text


async def test_an_empty_story_and_text_at_the_evidence_step(harness: Harness) -> None:
    user = harness.user(user_id=7105, language_code="en")
    await to_step(user, "narrative")
    await user.press("i:narrative:_done")
    assert await current_step(harness, user.user_id) == "narrative"
    assert "Please tell what happened first" in user.last_text
    await user.send_text("They came at night.")
    await user.press("i:narrative:_done")
    await user.send_text("I have no photos")
    assert "send photos, PDF documents, videos or voice messages" in user.last_text
    assert "press Done" in user.last_text
    assert "Please answer with a message" not in user.last_text


async def test_an_earlier_questions_button_is_refused_and_goes(harness: Harness) -> None:
    """An answered question keeps its buttons (one Bot API call less per question); a press
    on them answers nothing, says so, takes that message's buttons away and asks the current
    question again: person 1's relation never lands on person 2, an old summary never
    submits."""
    user = harness.user(user_id=7106, language_code="en")
    await to_step(user, "narrative")
    first_relation = next(
        m for m in user.messages if any(d == "i:relation:son" for _l, d in m.buttons())
    )
    first = draft(harness, user.user_id)["detainees"][0]["relation"]
    # Back to "another person?", yes: person 2's relation is asked, with the same buttons.
    await user.send_command("back")
    await user.press("i:another:yes")
    assert await current_step(harness, user.user_id) == "relation"
    asked = user.last
    calls = len(harness.api.log)
    answer = await user.press("i:relation:son", message_id=first_relation.message_id)
    assert answer is not None and answer.get("text") == "This button is from an earlier question."
    assert not first_relation.buttons(), "the earlier question's buttons are taken away"
    assert [c.method for c in harness.api.log[calls:]] == [
        "answerCallbackQuery",
        "editMessageReplyMarkup",
        "sendMessage",
    ]
    persons = draft(harness, user.user_id)["detainees"]
    assert len(persons) == 2 and persons[1].get("relation") is None
    assert persons[0]["relation"] == first
    assert await current_step(harness, user.user_id) == "relation"
    assert user.last.message_id != asked.message_id and user.buttons(), "asked again"
    # The current question's own buttons answer it; the one answered keeps its buttons.
    await user.press("i:relation:husband")
    given = draft(harness, user.user_id)
    held = harness.services.pieces.values(given)
    assert held[given["detainees"][1]["relation"]["piece"]] == "husband"
    assert asked.buttons(), "no call is spent taking an answered question's buttons"


async def test_an_old_summary_does_not_submit(harness: Harness) -> None:
    user = harness.user(user_id=7110, language_code="en")
    await to_summary(user)
    old = user.last
    await user.press("i:summary:edit:about")
    await user.press("i:own_name:_keep")
    await user.press("i:residence:_keep")
    assert await current_step(harness, user.user_id) == "summary"
    answer = await user.press("i:summary:submit", message_id=old.message_id)
    assert answer is not None and answer.get("text") == "This button is from an earlier question."
    assert await current_step(harness, user.user_id) == "summary"
    assert "Please check your answers." in user.last_text
    newest = user.last
    await user.press("i:summary:submit")  # the newest summary's Submit
    assert any(CODE.search(m.text or "") for m in user.messages[-3:]), "submitted"
    assert not newest.buttons(), "a finished dialogue leaves nothing to press"


async def test_help_lists_her_commands_and_the_staff_theirs(harness: Harness) -> None:
    user = harness.user(user_id=7107, language_code="en")
    await user.send_command("help")
    for command in ("/status", "/withdraw", "/cancel", "/back", "/subscribe", "/forget"):
        assert command in user.last_text
    assert "/grant" not in user.last_text
    await harness.services.roles.grant("cli", 7108, Role.ADMIN)
    admin = harness.user(user_id=7108, language_code="en")
    await admin.send_command("help")
    assert "/grant" in admin.last_text and "/broadcast" in admin.last_text


async def test_withdrawing_twice_and_needs_information(harness: Harness) -> None:
    user = harness.user(user_id=7109, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    receipt = receipt_of(user, code)
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(Case).where(Case.code == code).values(status=CaseStatus.NEEDS_INFO)
        )
    await user.send_command("status", receipt)
    assert "needs more information" in user.last_text
    assert "answer it there with the button under the question" in user.last_text
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(Case).where(Case.code == code).values(status=CaseStatus.REJECTED)
        )
    await user.send_command("status", receipt)
    # "Not accepted" is never left bare: what it means, and what she can do.
    assert "not accepted" in user.last_text
    assert "does not mean you were not believed" in user.last_text
    await withdraw(user, code)
    await user.send_command("withdraw", receipt)
    assert "was withdrawn already" in user.last_text
    assert "No case was found" not in user.last_text


async def test_subscribe_without_a_language_button_keeps_her_language(harness: Harness) -> None:
    user = harness.user(user_id=7110, language_code="ru")
    await user.send_command("subscribe")
    account = await harness.services.accounts.find(user.user_id)
    assert account is not None and account.subscribed and account.locale == "ru"


async def test_a_draft_holds_so_many_pieces_and_files(harness: Harness) -> None:
    harness.services.flood_gate.caps(3, 2, 300)  # made once: these numbers hold here
    user = harness.user(user_id=7111, language_code="en")
    await to_step(user, "narrative")
    await user.send_text("One.")
    await user.send_text("Two.")
    await user.send_text("Three.")
    await user.send_text("Four.")
    assert "the most one testimony can hold" in user.last_text
    assert len(draft(harness, user.user_id)["narrative"]) == 3  # nothing given is lost
    await user.press("i:narrative:_done")
    await user.send_photo(PHOTO_1)
    await user.send_photo(PHOTO_2)
    await user.send_photo(PHOTO_1)
    assert "already holds 2 files" in user.messages[-1].text
    assert len(draft(harness, user.user_id)["evidence"]) == 2
    await user.press("i:evidence:_done")
    assert await current_step(harness, user.user_id) == "consent_contact"


def test_caps_on_bytes_and_on_one_account_a_day() -> None:
    from bot.services.flood import BYTES_FULL, DAY_FULL, FILES_FULL, MB, DraftCaps

    caps = DraftCaps(pieces=2, files=3, megabytes=1)
    day, later = date(2026, 11, 28), date(2026, 11, 29)
    assert caps.file(1, "d1", 0, MB // 2, day) is None
    assert caps.file(1, "d1", 1, MB, day) == (BYTES_FULL, 1)
    assert caps.file(1, "d1", 1, MB // 4, day) is None
    for held in range(2):
        assert caps.file(1, f"d{held + 2}", 0, 1, day) is None
    assert caps.file(1, "d9", 0, 1, day) is None
    assert caps.file(1, "d9", 1, 1, day) is None
    assert caps.file(1, "d9", 2, 1, day) == (DAY_FULL, 0)  # six files today: twice a draft's
    assert caps.file(1, "d9", 3, 1, day) == (FILES_FULL, 3)
    assert caps.file(1, "d10", 0, 1, later) is None  # a new day
    assert caps.file(2, "d11", 0, 1, day) is None  # another account
    for _ in range(4):
        assert caps.piece(3, 0, day) is None
    assert caps.piece(3, 0, day) == (DAY_FULL, 0)


async def test_a_file_question_from_an_earlier_testimony_describes_nothing(
    harness: Harness,
) -> None:
    """A file's question names that very file: left on her screen from a testimony she sent
    (or cancelled), it never attributes the new draft's file at the same place."""
    user = harness.user(user_id=7111, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS)  # two persons, files undescribed
    old = next(m for m in user.messages if any(d.endswith(":p2") for _l, d in m.buttons()))
    old_tag = next(d for _l, d in old.buttons() if d.endswith(":p2"))
    await walk_intake(user, locale="en", persons=PERSONS, submit=False)
    await user.press("i:summary:edit:evidence")
    answer = await user.press(old_tag, message_id=old.message_id)
    assert answer is None or "earlier" not in str(answer.get("text"))
    assert "This button is out of date" in user.last_text
    evidence = draft(harness, user.user_id)["evidence"]
    assert evidence and all("person" not in item for item in evidence)
    # The new file's own question still works.
    new_file = len(evidence)
    await user.send_photo(PHOTO_1)
    tag = file_tag(user, new_file, "p2")
    uid = draft(harness, user.user_id)["evidence"][new_file]["uid"]
    assert uid[:8] not in tag, "her chat holds nothing that matches the attachment's row"
    await user.press(tag)
    assert draft(harness, user.user_id)["evidence"][-1]["person"] == 2


async def test_done_on_the_story_question_itself_still_ends_the_story(harness: Harness) -> None:
    user = harness.user(user_id=7112, language_code="en")
    await to_step(user, "narrative")
    story_question = user.last
    await user.send_text("They came at night.")
    assert "Received. You can add more, or press Done." in user.last_text
    await user.press("i:narrative:_done", message_id=story_question.message_id)
    assert await current_step(harness, user.user_id) == "evidence"
