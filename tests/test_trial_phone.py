"""The trial page as people deciding to deploy Aigaq meet it, on a phone and on a desktop:
nothing off-screen, the reader keeps her place, buttons' answers shown, long texts in parts,
photos shown, Arabic-script Kazakh right to left, and a Start button on an empty chat."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import trial
from tests.harness import Harness
from tests.test_console import tiny_png
from tests.test_trial import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("AIGAQ_TEST_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
CONTROLS = ("#text", "#photo-button", "#document-button", "#voice-button", "#send")
ARABIC = re.compile(r"[\u0600-\u06ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Pictographs and dingbats (📷 📎 🎤 🔒 ➤): the README screenshot showed them as empty boxes.
EMOJI = re.compile(r"[\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\U0001f000-\U0001faff]")


@dataclass
class Served:
    """The trial page on a real port, the bot behind it, and a browser."""

    harness: Harness
    trial: trial.Trial
    base: str
    browser: Any

    async def open(self, size: dict[str, int], lang: str = "en") -> Any:
        page = await self.browser.new_page(viewport=size)
        await page.goto(f"{self.base}/?lang={lang}")
        return page

    def person(self) -> int:
        """The user the (one) open tab plays."""
        assert len(self.trial.tabs) == 1
        return next(iter(self.trial.tabs.values()))


@pytest.fixture
async def served(harness: Harness, tmp_path: Path) -> AsyncIterator[Served]:
    import uvicorn
    from playwright.async_api import async_playwright

    assert harness.app is not None
    run = trial.Trial(harness.app, harness.api, tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            trial.create_page(run, tmp_path / "demo-reviewer.key"),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                yield Served(harness, run, f"http://127.0.0.1:{port}", browser)
            finally:
                await browser.close()
    finally:
        server.should_exit = True
        await task


async def start(page: Any) -> None:
    """Press the empty chat's Start button and wait for the bot's first answer."""
    await page.click("#start")
    await page.wait_for_selector(".bubble.bot")


async def inside_viewport(page: Any, selector: str) -> None:
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, f"{selector} is not shown"
    assert box["width"] > 0 and box["height"] > 0, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"] + 0.5, (selector, box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (selector, box, size)


async def page_width(page: Any) -> int:
    return int(await page.evaluate("document.documentElement.scrollWidth"))


@SIZES
async def test_nothing_is_off_screen(served: Served, size: dict[str, int]) -> None:
    page = await served.open(size, lang="kk")
    await inside_viewport(page, "#start")
    await start(page)
    await page.wait_for_selector(".keyboard button")
    assert await page_width(page) <= size["width"]
    for control in CONTROLS:
        await inside_viewport(page, control)
    for button in await page.locator(".keyboard button").all():
        box = await button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= size["width"]
    # The side panel: beside the chat on a desktop, behind a menu button on a phone.
    if size is PHONE:
        assert not await page.is_visible("#as-admin")
        await page.click("#menu")
    await inside_viewport(page, "#as-admin")
    await inside_viewport(page, "#console")
    assert await page_width(page) <= size["width"]
    await page.click("#as-admin")
    await page.wait_for_selector("#start")
    assert not await page.is_visible("#as-admin") or size is DESKTOP
    assert served.person() == trial.ADMIN_ID


@SIZES
async def test_the_icons_are_drawn_not_emoji(served: Served, size: dict[str, int]) -> None:
    page = await served.open(size, lang="ru")
    await start(page)
    # The page's own controls and notes (the bot's messages may use any character).
    chrome = await page.evaluate(
        "() => { const body = document.documentElement.cloneNode(true);"
        " body.querySelector('#chat').remove(); return body.outerHTML; }"
    )
    assert not EMOJI.findall(chrome), EMOJI.findall(chrome)
    for control in ("#photo-button", "#document-button", "#voice-button", "#send"):
        drawing = page.locator(f"{control} svg")
        box = await drawing.bounding_box()
        assert box is not None and box["width"] >= 16 and box["height"] >= 16, control
        assert await page.get_attribute(control, "title") or await page.get_attribute(
            control, "aria-label"
        ), f"{control} has a name for screen readers"
    # The protected-content note's lock is a drawing too.
    await page.wait_for_selector(".protected svg")


async def bot_says(served: Served, text: str, **kwargs: Any) -> None:
    assert served.harness.app is not None
    await served.harness.app.bot.send_message(served.person(), text, **kwargs)


async def scroll_state(page: Any) -> dict[str, float]:
    return dict(
        await page.evaluate(
            "() => { const c = document.getElementById('chat');"
            " return {top: c.scrollTop, gap: c.scrollHeight - c.scrollTop - c.clientHeight}; }"
        )
    )


@SIZES
async def test_the_reader_keeps_her_place_while_messages_arrive(
    served: Served, size: dict[str, int]
) -> None:
    page = await served.open(size)
    await start(page)
    for number in range(40):
        await bot_says(served, f"Earlier message {number}")
    await page.wait_for_selector("text=Earlier message 39")
    assert (await scroll_state(page))["gap"] < 2, "a new chat follows the newest message"
    # She scrolls back to read; the page refreshes every 1.5 s and a message arrives.
    await page.eval_on_selector("#chat", "chat => { chat.scrollTop = 120; }")
    await page.wait_for_timeout(100)
    await bot_says(served, "A newer message")
    await page.wait_for_selector("text=A newer message")
    await page.wait_for_timeout(1700)
    assert (await scroll_state(page))["top"] == pytest.approx(120, abs=2)
    assert await page.is_visible("#to-bottom"), "a button leads to the newest message"
    # At the bottom again, new messages come into view.
    await page.click("#to-bottom")
    await bot_says(served, "The newest message")
    await page.wait_for_selector("text=The newest message")
    await page.wait_for_timeout(300)
    assert (await scroll_state(page))["gap"] < 2
    assert not await page.is_visible("#to-bottom")
    # What she sends herself is always shown.
    await page.eval_on_selector("#chat", "chat => { chat.scrollTop = 0; }")
    await page.fill("#text", "my own words")
    await page.click("#send")
    await page.wait_for_selector(".bubble.me >> text=my own words")
    await page.wait_for_timeout(300)
    assert (await scroll_state(page))["gap"] < 2


@SIZES
async def test_a_buttons_answer_is_shown_as_a_toast(served: Served, size: dict[str, int]) -> None:
    page = await served.open(size)
    await start(page)
    await page.locator('button[data-cb="lang:en"]').last.click()
    toast = page.locator("#toast")
    await toast.wait_for(state="visible")
    assert await toast.inner_text() == "Language set: English."
    await inside_viewport(page, "#toast")
    await page.wait_for_selector('button[data-cb="i:safety:_continue"]')
    await page.locator('button[data-cb="i:safety:_continue"]').last.click()
    await page.wait_for_timeout(200)
    # A keyboard left on an earlier question, as Telegram apps keep them.
    stale = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Continue", callback_data="i:safety:_continue")]]
    )
    await bot_says(served, "An earlier question", reply_markup=stale)
    await page.wait_for_selector("text=An earlier question")
    await page.locator('button[data-cb="i:safety:_continue"]').last.click()
    await page.wait_for_function(
        "() => document.getElementById('toast').textContent"
        " === 'This button is from an earlier question.'"
    )
    assert await toast.is_visible()
    await page.wait_for_timeout(3300)
    assert not await toast.is_visible(), "a toast goes by itself"


@SIZES
async def test_a_long_text_goes_as_several_messages(served: Served, size: dict[str, int]) -> None:
    page = await served.open(size)
    await start(page)
    words = [f"word{number}" for number in range(900)]
    text = " ".join(words)
    assert len(text) > 5000
    await page.fill("#text", text)
    await page.click("#send")
    await page.wait_for_function("document.querySelectorAll('.bubble.me').length >= 3")
    sent = [
        m.text or ""
        for m in served.harness.api.chats[served.person()]
        if not m.from_bot and m.text != "/start"
    ]
    assert len(sent) == 2 and all(len(part) <= 4096 for part in sent)
    assert " ".join(sent).split() == words, "nothing is lost, and no word is cut in two"
    shown = await page.locator(".bubble.me .text").all_inner_texts()
    assert shown[-2:] == sent
    assert await page_width(page) <= size["width"]
    # One unbroken string is cut at the limit, and wraps on screen.
    await page.fill("#text", "x" * 5000)
    await page.click("#send")
    await page.wait_for_function("document.querySelectorAll('.bubble.me').length >= 5")
    assert await page_width(page) <= size["width"]


@SIZES
async def test_a_broadcasts_photo_is_shown(
    served: Served, size: dict[str, int], tmp_path: Path
) -> None:
    page = await served.open(size)
    await start(page)
    assert served.harness.app is not None
    # As a broadcast is sent: the admin's photo by its file_id, the text as its caption.
    photo = served.harness.api.register_file(tiny_png(), kind="photo")
    await served.harness.app.bot.send_photo(served.person(), photo.file_id, caption="News")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.bubble.bot img.photo')]"
        ".some(i => i.complete && i.naturalWidth === 2)"
    )
    assert "News" in await page.locator(".bubble.bot").last.inner_text()
    await inside_viewport(page, ".bubble.bot img.photo")
    # Her own photo is shown in her bubble too.
    path = tmp_path / "mine.png"
    path.write_bytes(tiny_png())
    await page.set_input_files("#photo", str(path))
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.bubble.me img.photo')]"
        ".some(i => i.complete && i.naturalWidth === 2)"
    )


@SIZES
async def test_arabic_script_kazakh_starts_right_to_left_in_arabic_script(
    served: Served, size: dict[str, int]
) -> None:
    page = await served.open(size, lang="kk_Arab")
    assert await page.is_visible("#start") and not await page.is_visible("#composer")
    await start(page)
    first = page.locator(".bubble.bot .text").first
    text = await first.inner_text()
    assert ARABIC.search(text) and not CYRILLIC.search(text), text
    assert await first.evaluate("node => getComputedStyle(node).direction") == "rtl"
    assert await page.eval_on_selector("#chat", "c => getComputedStyle(c).direction") == "rtl"
    assert served.trial.users[served.person()].language_code == "kk-Arab"
    assert await page.is_visible("#composer") and not await page.is_visible("#start")
    assert await page_width(page) <= size["width"]
    for control in CONTROLS:
        await inside_viewport(page, control)
