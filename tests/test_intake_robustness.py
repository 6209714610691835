"""Bad input at every step, restarts mid-dialogue, and nothing readable left behind."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.draft_pieces import DraftPiece
from bot.logs import hold_back_payload_loggers
from bot.models import Attachment, Base, SealedKey
from tests.harness import Harness
from tests.scenario import BUTTONS_AFTER_ID
from tests.test_intake_dialogue import PDF, PERSONS, PHOTO_1, PHOTO_2, walk_intake


async def to_step(user, step: str) -> None:
    """Walk a fresh user up to the given step, in English."""
    await user.send_command("start")
    await user.press("lang:en")
    await user.press("i:safety:_continue")
    if step == "relation":
        return
    await user.press("i:relation:daughter")
    await user.press("i:own_name:_skip")
    await user.press("i:residence:_skip")
    if step == "name":
        return
    await user.send_text("Серік Жұмабай")
    await user.press("i:name_alt:_skip")
    await user.press("i:name_han:_skip")
    await user.press("i:gender:male")
    if step == "birth_year":
        return
    await user.send_text("1970")
    await user.press("i:hometown:_unknown")
    if step == "detained":
        return
    await user.send_text("2017")
    await user.press("i:status:unknown")
    for name in ("told_where", "held_at", "last_contact", "occupation", "reason", "detained_place"):
        await user.press(f"i:{name}:_skip")
    await user.press("i:perpetrators:_unknown")
    for name in ("id_number", *BUTTONS_AFTER_ID, "steps_taken"):
        await user.press(f"i:{name}:_skip")
    await user.press("i:another:no")
    if step == "narrative":
        return
    await user.send_text("They took him at night.")
    await user.press("i:narrative:_done")
    if step == "evidence":
        return
    raise AssertionError(step)


async def current_step(harness: Harness, user_id: int) -> str:
    return harness.app.user_data[user_id]["draft"]["step"]  # type: ignore[union-attr]


@pytest.mark.parametrize("step", ["relation", "name", "birth_year", "detained", "narrative"])
async def test_hostile_text_at_each_step_gets_an_answer_and_loses_nothing(
    harness: Harness, step: str
) -> None:
    user = harness.user(user_id=3000 + len(step), language_code="en")
    await to_step(user, step)
    before = dict(harness.app.user_data[user.user_id]["draft"])  # type: ignore[union-attr]
    for hostile in ["", "x" * 10_000, "🙂🙂🙂", "مرحبا بالعالم", "我的儿子被抓了", "\u202egnp.exe"]:
        replies = len(user.messages)
        await user.send_text(hostile)
        assert len(user.messages) > replies, f"no answer to {hostile[:10]!r} at {step}"
        assert "Something went wrong" not in user.last_text
    for act in (user.send_sticker, lambda: user.send_location(43.25, 76.95)):
        replies = len(user.messages)
        await act()
        assert len(user.messages) > replies
        assert "Stickers, locations" in user.messages[-1].text
    after = harness.app.user_data[user.user_id]["draft"]  # type: ignore[union-attr]
    assert after["about"] == before["about"]
    assert after["detainees"][0].get("name") == before["detainees"][0].get("name")


async def test_impossible_year_is_refused_clearly(harness: Harness) -> None:
    user = harness.user(user_id=3101, language_code="en")
    await to_step(user, "birth_year")
    await user.send_text("1850")
    assert "between 1900 and" in user.last_text
    await user.send_text("2030")
    assert "between 1900 and" in user.last_text
    assert await current_step(harness, user.user_id) == "birth_year"
    await user.send_text("about 1965")
    assert await current_step(harness, user.user_id) == "hometown"


async def test_forged_and_stale_buttons(harness: Harness) -> None:
    user = harness.user(user_id=3102, language_code="en")
    await to_step(user, "name")
    old = user.messages[-2].message_id  # the relation question, answered already
    await user.press("i:relation:son", message_id=old)
    assert await current_step(harness, user.user_id) == "name"
    await user.press("i:name:../../etc", message_id=user.last.message_id)
    await user.press("i:nosuchstep:1", message_id=user.last.message_id)
    await user.press("x" * 64, message_id=user.last.message_id)
    await user.press("lang:xx", message_id=user.last.message_id)
    assert await current_step(harness, user.user_id) == "name"
    draft = harness.app.user_data[user.user_id]["draft"]  # type: ignore[union-attr]
    assert await harness.open_piece(draft["detainees"][0]["relation"]) == "daughter"
    answers = harness.api.calls("answerCallbackQuery")
    assert len(answers) >= 5


async def test_file_over_the_limit_and_unsupported_documents(harness: Harness) -> None:
    user = harness.user(user_id=3103, language_code="en")
    await to_step(user, "evidence")
    await user.send_photo(PHOTO_1)
    await user.send_document(
        b"x" * 100, file_name="big.mp4", mime_type="video/mp4", declared_size=25 * 1024 * 1024
    )
    assert "larger than 20 MB" in user.last_text
    await user.send_document(b"MZ...", file_name="tool.exe", mime_type="application/x-msdownload")
    assert "PDF" in user.last_text
    draft = harness.app.user_data[user.user_id]["draft"]  # type: ignore[union-attr]
    assert len(draft["evidence"]) == 1
    await user.send_photo(PHOTO_2)
    assert "Photo 2 received" in user.last_text


@pytest.mark.parametrize("stop_at", ["name", "detained", "evidence"])
async def test_restart_mid_dialogue_loses_nothing(harness: Harness, stop_at: str) -> None:
    user = harness.user(user_id=3200, language_code="en")
    await to_step(user, stop_at)
    if stop_at == "evidence":
        await user.send_photo(PHOTO_1)
    before = harness.app.user_data[user.user_id]["draft"]  # type: ignore[union-attr]
    await harness.restart(clean=False)
    after = harness.app.user_data[user.user_id]["draft"]  # type: ignore[union-attr]
    assert after == before
    # The conversation goes on at the same step: the next answer is taken, not the greeting.
    if stop_at == "evidence":
        await user.send_document(PDF, file_name="letter.pdf", mime_type="application/pdf")
        assert "Document 1 received" in user.last_text
        await user.press("i:evidence:_done")
        assert await current_step(harness, user.user_id) == "consent_contact"
    else:
        await user.send_command("start")
        assert "continue where you stopped" in user.messages[-1].text


async def test_back_keeps_answers_and_language_switch_mid_dialogue(harness: Harness) -> None:
    user = harness.user(user_id=3300, language_code="en")
    await to_step(user, "birth_year")
    await user.send_command("back")
    assert await current_step(harness, user.user_id) == "gender"
    for _step in ("name_han", "name_alt", "name"):
        await user.send_command("back")
    assert await current_step(harness, user.user_id) == "name"
    draft = harness.app.user_data[user.user_id]["draft"]  # type: ignore[union-attr]
    assert await harness.open_piece(draft["detainees"][0]["name"]) == "Серік Жұмабай"
    await user.send_command("language")
    await user.press("lang:ru")
    assert await current_step(harness, user.user_id) == "name"
    assert any(ch in user.last_text for ch in "абвгдежз")
    assert await harness.open_piece(draft["detainees"][0]["name"]) == "Серік Жұмабай"


async def test_cancel_asks_then_wipes_draft_and_files(harness: Harness) -> None:
    user = harness.user(user_id=3400, language_code="en")
    await to_step(user, "evidence")
    await user.send_photo(PHOTO_1)
    await user.send_command("cancel")
    await user.press("cancel:no")
    assert "draft" in harness.app.user_data[user.user_id]  # type: ignore[union-attr]
    await user.send_command("cancel")
    await user.press("cancel:yes")
    assert "draft" not in harness.app.user_data[user.user_id]  # type: ignore[union-attr]
    async with harness.services.sessionmaker() as session:
        assert list(await session.scalars(select(Attachment.id))) == []
        # Her sealed answers went too, with their wrapped keys.
        assert list(await session.scalars(select(DraftPiece.id))) == []
        assert list(await session.scalars(select(SealedKey.id))) == []


async def test_daily_submission_limit(harness: Harness) -> None:
    harness.services.cases.max_per_day = 1  # AIGAQ_MAX_SUBMISSIONS_PER_DAY
    user = harness.user(user_id=3600, language_code="en")
    first = await walk_intake(user, locale="en", persons=PERSONS[:1])
    second = await walk_intake(user, locale="en", persons=PERSONS[:1])
    # The second one is refused politely and kept: no new code is shown.
    assert second == first
    assert "daily limit" in user.last_text
    assert "draft" in harness.app.user_data[user.user_id]  # type: ignore[union-attr]


async def test_no_plaintext_in_database_or_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # The logging the bot runs with, at its most talkative for Aigaq's own loggers.
    hold_back_payload_loggers()
    caplog.set_level(logging.DEBUG)
    user = harness.user(user_id=3700, language_code="kk")
    await walk_intake(user, locale="kk", persons=PERSONS)
    raw = await database_bytes(harness)
    secrets = [
        "Ерлан Нұрғалиұлы",
        "叶尔兰·努尔哈力",
        "Гүлбаһрам",
        "Құлжа ауданы",
        "Қазақстанға барғаны үшін",
        "консулдыққа хат",
    ]
    for secret in secrets:
        assert secret.encode() not in raw, secret
        assert secret.encode().hex().encode() not in raw, secret
        assert secret not in caplog.text, secret
    for blob in (PHOTO_1, PHOTO_2, PDF):
        assert blob[:200] not in raw
        assert blob[:200].hex().encode() not in raw
    assert str(user.user_id) not in caplog.text


async def database_bytes(harness: Harness) -> bytes:
    """Everything the database holds: the SQLite files, or every PostgreSQL row as text."""
    engine = harness.services.engine
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        database = Path(harness.settings.database_url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    chunks = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = text(f"SELECT t::text FROM {table.name} t")  # noqa: S608 - our own table names
            rows = await connection.execute(query)
            chunks.extend(row[0].encode() for row in rows)
    return b"\n".join(chunks)
