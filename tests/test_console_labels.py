"""The console speaks its reader's language: labels, never raw values; the UN table in it;
right to left in Arabic script; names in the queue and a search by any part of a name; a
verification taken back by a question is said, not hidden."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from bot.models import CaseStatus
from bot.reviewing.console.app import create_app
from bot.reviewing.pins import Pins
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.test_console import PASSPHRASE, Server, a_key, csrf_of
from tests.test_followup import answer_button
from tests.test_followup_status import a_case

RAW = ("in_review", "needs_info", "partially_verified", "True", "False", "kk_Arab", "team")


def shown(html: str) -> str:
    """What a person reads on the page: the text, without tags or attribute values."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def a_verified_case_asked_and_answered(harness: Harness) -> str:
    code = await a_case(harness, 9600)
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED, grade="partially_verified")
    await reviewer.followups.ask(code, "Қай жерде ұсталды?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    user = harness.user(user_id=9600, language_code="kk")
    token = answer_button(user).removeprefix("fu:")
    await user.press(f"fu:{token}")
    await user.send_text("Құлжада")
    await user.press(f"fudone:{token}")
    return code


async def test_every_value_is_a_label_in_the_consoles_language(
    harness: Harness, tmp_path: Path
) -> None:
    code = await a_verified_case_asked_and_answered(harness)
    await a_case(harness, 9601, name="Айгүл Серікқызы")
    app = create_app(
        harness.services.sessionmaker,
        a_key(harness, tmp_path),
        pins=Pins(inbox_fingerprint=harness.inbox_fingerprint),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = await csrf_of(client)
        await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
        queue = shown((await client.get("/?lang=ru")).text)
        # Her names, opened on this machine; the status, grade and language as words.
        assert "Ерлан Нұрғалиұлы" in queue and "Айгүл Серікқызы" in queue
        assert "на проверке" in queue and "частично подтверждено" in queue
        assert "Қазақша" in queue
        for raw in RAW:
            assert raw not in queue, raw
        for query in ("Ерлан", "Erlan", "Nurgaliuly"):
            found = shown((await client.post("/search", data={"csrf": csrf, "q": query})).text)
            assert "Ерлан Нұрғалиұлы" in found and "Айгүл" not in found, query

        page = await client.get(f"/case/{code}?lang=kk")
        text = shown(page.text)
        for raw in RAW:
            assert raw not in text, raw
        assert 'id="verified-before"' in page.text
        assert "Бұрын расталған; жаңа ақпарат келді" in text
        assert "Туысқаннан жаңа ақпарат" in text  # her answer, an event in the history
        # The UN table in Kazakh, its states too.
        assert "Жауапты деп саналатын күштер" in text and "Forces believed" not in text
        assert "берілмеген" in text
        # Her consent: words, not True or a key.
        assert "Тек біздің топ" in text  # her answer, as her button said it

        arabic = (await client.get(f"/case/{code}?lang=kk_Arab")).text
        assert re.search(r'<html lang="kk-Arab" dir="rtl">', arabic)
        assert '<html lang="ru" dir="ltr">' in (await client.get("/?lang=ru")).text


@pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("AIGAQ_TEST_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
async def test_in_a_real_browser_arabic_script_reads_right_to_left(
    harness: Harness, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    from bot import db

    code = await a_case(harness, 9602)
    engine = db.create_engine(harness.settings.database_url)
    server = Server(create_app(db.make_sessionmaker(engine), a_key(harness, tmp_path)))
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        for _ in range(100):
            if server.server.started:
                break
            await asyncio.sleep(0.05)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(base + "/?lang=kk_Arab")
            await page.fill("#passphrase", PASSPHRASE)
            await page.click("#unlock")
            assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
            # The code column starts at the right edge; her name reads in its own script.
            cell = await page.locator("#queue td").first.bounding_box()
            assert cell is not None and cell["x"] > 640
            assert "Ерлан Нұрғалиұлы" in await page.inner_text("#queue")
            await page.click(f"text={code}")
            status = await page.inner_text("#status")
            assert status and not re.search(r"[a-z_]", status)  # a label in Arabic script
            await browser.close()
    finally:
        server.server.should_exit = True
        server.join(timeout=10)
        await engine.dispose()
