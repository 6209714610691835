"""A file's type is read from its bytes at intake, never from what her app declared: SVG,
HTML and programs are refused in her language, and the sealed record keeps the real type."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Attachment
from bot.services.filetypes import type_of
from tests.harness import Harness
from tests.scenario import PDF, PHOTO_1
from tests.test_intake_robustness import to_step

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>fetch('/')</script></body></html>"
PROGRAM = b"MZ\x90\x00" + b"\x00" * 200


def test_types_come_from_the_bytes() -> None:
    assert type_of("document", PDF) == "application/pdf"
    assert type_of("photo", PHOTO_1) == "image/jpeg"
    assert type_of("document", PHOTO_1) == "image/jpeg"
    for hostile in (SVG, HTML, PROGRAM, b"\x7fELF" + b"\x00" * 100, b"plain text"):
        assert type_of("document", hostile) is None
    assert type_of("photo", PDF) is None  # a PDF sent "as a photo" is not a photo
    assert type_of("text", b"an answer") is None  # not a file kind


async def test_svg_html_and_programs_are_refused_whatever_they_claim(harness: Harness) -> None:
    user = harness.user(user_id=3190, language_code="en")
    await to_step(user, "evidence")
    for data, name, declared in (
        (SVG, "photo.png", "image/png"),
        (HTML, "letter.pdf", "application/pdf"),
        (PROGRAM, "scan.jpg", "image/jpeg"),
    ):
        await user.send_document(data, file_name=name, mime_type=declared)
        assert "This file could not be kept: by its content" in user.last_text
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count(Attachment.id))) == 0
    # A real PDF is kept, and its sealed record says what its bytes are.
    await user.send_document(PDF, file_name="letter", mime_type="application/pdf")
    async with harness.services.sessionmaker() as session:
        uid = await session.scalar(select(Attachment.uid))
    assert uid is not None
    record = await harness.reviewer_tool().attachment(uid).record()
    assert record.mime == "application/pdf"
