"""Only a receipt is taken for one: ordinary answers in four words reach the dialogue; and
the answers that name a case leave her chat even when Telegram fails the first time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.draft_pieces import DraftPiece
from bot.localapi import FakeUser
from handlers.fading import FADING, delete_faded
from tests.harness import Harness
from tests.scenario import PERSONS, receipt_of, walk_intake

# Fixed, so that every run sends one a relative could have been given (random receipts with
# fewer than two digits, about one in fifty, are taken only after a bare /status).
RECEIPT = "7K2M-Q9XD-3HPA-V0TC"
PHRASES = ["John Ross Abel Hart", "Took from home 2017", "1391 2345 6789 0000"]


@pytest.fixture
def fixed_receipt(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr("bot.services.cases.new_receipt", lambda: RECEIPT)
    yield RECEIPT


async def _answers_in_drafts(harness: Harness) -> list[str]:
    async with harness.services.sessionmaker() as session:
        uids = list(await session.scalars(select(DraftPiece.uid)))
    return [str(await harness.open_piece({"piece": uid})) for uid in uids]


async def _answer(user: FakeUser, text: str) -> None:
    """She answers the question in front of her; the dialogue takes it and asks the next."""
    question = user.last_text
    typed = await user.send_text(text)
    assert not typed.deleted, f"{text!r} was deleted from her chat"
    assert user.last_text != question and "receipt" not in user.last_text, user.last_text


async def test_four_words_or_an_id_number_are_answers_not_receipts(harness: Harness) -> None:
    """Her name, where he was taken and his ID number, each four groups of four, are kept
    as her answers, stay in her chat, and count as no wrong receipt."""
    name, place, id_number = PHRASES
    person = PERSONS[0]
    mother = harness.user(user_id=6100, language_code="en")
    await mother.send_command("start")
    await mother.press("lang:en")
    await mother.press("i:safety:_continue")
    await mother.press("i:relation:mother")
    await _answer(mother, name)
    await mother.send_text("Almaty")
    await mother.send_text(person["name"])
    await mother.send_text(person["alt"])
    await mother.press("i:name_han:_skip")
    await mother.press(f"i:gender:{person['gender']}")
    await mother.send_text(person["year"])
    await mother.press(f"i:hometown:{person['prefecture']}")
    await mother.send_text(person["detail"])
    await mother.send_text(person["detained"])
    await mother.press(f"i:status:{person['status']}")
    await mother.press("i:told_where:_skip")
    for step in ("held_at", "last_contact", "occupation", "reason"):
        await mother.send_text(person[step])
    await _answer(mother, place)
    await mother.press(f"i:perpetrators:{person['perpetrators']}")
    await _answer(mother, id_number)  # no ID number's check digit: asked once to check it
    await _answer(mother, id_number)  # then kept as she wrote it
    answers = await _answers_in_drafts(harness)
    for phrase in PHRASES:
        assert any(phrase in answer for answer in answers), f"{phrase!r} is not in her draft"


async def test_a_receipt_as_printed_is_still_taken_unasked(
    harness: Harness, fixed_receipt: str
) -> None:
    mother = harness.user(user_id=6200, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    assert receipt_of(mother) == fixed_receipt
    sister = harness.user(user_id=6201, language_code="en")
    await walk_intake(sister, locale="en", persons=PERSONS[:1], submit=False)
    for typed_as in (fixed_receipt, fixed_receipt.lower().replace("-", " ")):
        typed = await sister.send_text(typed_as)
        assert typed.deleted and f"Case {code}: received." in sister.last_text
    answers = await _answers_in_drafts(harness)
    assert not any("Q9XD" in answer.upper() for answer in answers)


async def test_after_a_bare_status_a_receipt_without_dashes_is_taken_and_yes_is_not(
    harness: Harness, fixed_receipt: str
) -> None:
    mother = harness.user(user_id=6300, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    other = harness.user(user_id=6301, language_code="en")
    await other.send_command("status")
    typed = await other.send_text(fixed_receipt.replace("-", "").lower())
    assert typed.deleted and f"Case {code}: received." in other.last_text
    for answer in ("yes", "Urumqi city"):
        await other.send_command("status")
        typed = await other.send_text(answer)
        assert not typed.deleted and "No case was found" not in other.last_text
    # The waiting ended with "yes": a receipt without its groups is no longer read as one.
    typed = await other.send_text(fixed_receipt.replace("-", ""))
    assert not typed.deleted and f"Case {code}" not in other.last_text


# -- the answers that name a case, when Telegram fails ------------------------------------


async def _one_faded_answer(harness: Harness, fixed_receipt: str) -> tuple[FakeUser, int]:
    """Someone's /status answer, waiting to be deleted, made due now."""
    mother = harness.user(user_id=6400, language_code="en")
    await walk_intake(mother, locale="en", persons=PERSONS[:1])
    other = harness.user(user_id=6401, language_code="en")
    await other.send_command("status", fixed_receipt)
    answer = other.last
    assert harness.app is not None
    fading = harness.app.user_data[other.user_id][FADING]
    assert list(fading) == [str(answer.message_id)]
    fading[str(answer.message_id)] = time.time() - 1
    return other, answer.message_id


def _fade_jobs(harness: Harness, user_id: int) -> list[float]:
    """When the pending fade jobs for her run, in seconds from now."""
    assert harness.app is not None and harness.app.job_queue is not None
    now = time.time()
    return [
        job.job.trigger.run_date.timestamp() - now
        for job in harness.app.job_queue.jobs()
        if job.name == "fade" and job.user_id == user_id and not job.removed
    ]


@pytest.mark.parametrize("error_code", [None, 502], ids=["timeout", "bad-gateway"])
async def test_a_network_failure_keeps_the_answer_for_a_later_try(
    harness: Harness, fixed_receipt: str, error_code: int | None
) -> None:
    other, message_id = await _one_faded_answer(harness, fixed_receipt)
    assert harness.app is not None and harness.app.job_queue is not None
    job = next(
        job
        for job in harness.app.job_queue.jobs()
        if job.name == "fade" and job.user_id == other.user_id
    )
    harness.api.fail("deleteMessages", chat_id=other.user_id, error_code=error_code)
    await job.run(harness.app)  # the job falls due while the network is down
    assert harness.api.find(other.user_id, message_id) is not None, "it was deleted after all"
    assert list(harness.app.user_data[other.user_id][FADING]) == [str(message_id)]
    # Tried again a minute later, not at once and not never.
    (when,) = _fade_jobs(harness, other.user_id)
    assert 50 < when <= 61
    assert await delete_faded(harness.app, other.user_id) == 1
    assert harness.api.find(other.user_id, message_id) is None
    assert FADING not in harness.app.user_data[other.user_id]


async def test_an_answer_telegram_cannot_find_is_dropped(
    harness: Harness, fixed_receipt: str
) -> None:
    other, message_id = await _one_faded_answer(harness, fixed_receipt)
    assert harness.app is not None
    harness.api.fail(
        "deleteMessages", error_code=400, description="Bad Request: message to delete not found"
    )
    assert await delete_faded(harness.app, other.user_id) == 1
    assert harness.api.calls("deleteMessages")[-1]["message_ids"] == [message_id]
    assert FADING not in harness.app.user_data[other.user_id]
    calls = len(harness.api.calls("deleteMessages"))
    assert await delete_faded(harness.app, other.user_id) == 0
    assert len(harness.api.calls("deleteMessages")) == calls  # not tried again


async def test_150_due_answers_go_in_two_calls(harness: Harness) -> None:
    user = harness.user(user_id=6500, language_code="en")
    await user.send_command("start")
    assert harness.app is not None
    sent = [
        harness.api.add_message(user.user_id, from_bot=True, text=f"Case K7QF-M2X{i % 10}")
        for i in range(150)
    ]
    due = time.time() - 1
    harness.app.user_data[user.user_id][FADING] = {str(m.message_id): due for m in sent}
    before = len(harness.api.calls("deleteMessages"))
    assert await delete_faded(harness.app, user.user_id) == 150
    calls = harness.api.calls("deleteMessages")[before:]
    assert [len(call["message_ids"]) for call in calls] == [100, 50]
    assert all(m.deleted for m in sent)
    assert FADING not in harness.app.user_data[user.user_id]
