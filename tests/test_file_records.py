"""Every file — evidence at intake and a follow-up answer — gets a sealed record (SHA-256,
size, MIME type, name) that only the reviewers open; the server keeps none of it in the clear.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.crypto import CryptoError
from bot.models import Attachment, SealedKey
from bot.reviewing.cases import Reviewer
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import NotSealedToYou
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import PDF, PERSONS, PHOTO_1, PHOTO_2, walk_intake

ID_CARD = b"%PDF-1.4\n" + b"his identity card, both sides " * 300


async def _press_button(user: Any, prefix: str) -> None:
    """Press the button of the last message whose data starts with `prefix`."""
    for message in reversed(user.all_messages):
        for _text, data in user.buttons(message):
            if data.startswith(prefix):
                await user.press(data)
                return
    raise AssertionError(f"no {prefix} button")


async def test_intake_and_follow_up_files_have_sealed_records(harness: Harness) -> None:
    user = harness.user(user_id=7400, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    reviewer = harness.reviewer_tool()

    # Intake: the case page (and every export) reads each file's record.
    files = (await reviewer.show(code)).payload["attachments"]
    sent = {sha256(data).hexdigest(): data for data in (PHOTO_1, PHOTO_2, PDF)}
    assert {item["sha256"] for item in files} == set(sent)
    for item in files:
        assert item["size"] == len(sent[item["sha256"]])
    pdf = next(item for item in files if item["kind"] == "document")
    assert (pdf["mime"], pdf["name"]) == ("application/pdf", "letter.pdf")
    photos = [item for item in files if item["kind"] == "photo"]
    assert [p["mime"] for p in photos] == ["image/jpeg", "image/jpeg"]
    assert all("name" not in p for p in photos)  # Telegram gives a photo no name

    # A follow-up answer's file: sealed with a record too.
    await reviewer.followups.ask(code, "Do you have a copy of his identity card?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    await _press_button(user, "fu:")
    await user.send_document(ID_CARD, file_name="id-card.pdf", mime_type="application/pdf")
    await _press_button(user, "fudone:")
    answers = [a for item in await reviewer.followups.of(code) for a in item["answers"]]
    assert [a["kind"] for a in answers] == ["document"]
    record = await reviewer.attachment(answers[0]["uid"]).record()
    assert record.sha256 == sha256(ID_CARD).hexdigest() and record.size == len(ID_CARD)
    assert (record.mime, record.name, record.provenance) == (
        "application/pdf",
        "id-card.pdf",
        "follow-up",
    )

    async with harness.services.sessionmaker() as session:
        rows = list(await session.scalars(select(Attachment)))
        # One sealed record per file, its data key wrapped like the file's own.
        assert len(rows) == 4 and all(row.record for row in rows)
        wrapped = await session.scalar(
            select(func.count()).select_from(SealedKey).where(SealedKey.kind == "file_record")
        )
        assert wrapped == 4
    assert {"sha256", "size"}.isdisjoint(Attachment.__table__.columns.keys())
    for row in rows:
        assert row.record is not None
        assert sha256(ID_CARD).hexdigest().encode() not in row.record
        assert b"id-card.pdf" not in row.record and b"letter.pdf" not in row.record

    # Another key opens nothing of it.
    stranger = Reviewer(harness.services.sessionmaker, ReviewerKey.generate())
    with pytest.raises((NotSealedToYou, CryptoError)):
        await stranger.attachment(answers[0]["uid"]).record()


async def test_a_discarded_draft_file_takes_its_record_with_it(harness: Harness) -> None:
    cases = harness.services.cases
    uid = await cases.seal_attachment("photo", PHOTO_1)
    async with harness.services.sessionmaker() as session:
        kinds = sorted(
            await session.scalars(select(SealedKey.kind).where(SealedKey.object_uid == uid))
        )
    assert kinds == ["attachment", "file_record"]
    assert await cases.discard_draft_files([uid]) == 1
    async with harness.services.sessionmaker() as session:
        left = await session.scalar(
            select(func.count()).select_from(SealedKey).where(SealedKey.object_uid == uid)
        )
    assert left == 0
