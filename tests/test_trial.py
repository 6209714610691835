"""`aigaq try`: the local chat page runs the real bot; walked in a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest

import bot.localapi
import tests.harness
from bot import trial
from tests.test_console import tiny_png


def test_the_trial_and_the_tests_use_one_fake_bot_api() -> None:
    assert trial.LocalBotApi is tests.harness.LocalBotApi is bot.localapi.LocalBotApi
    assert trial.FakeUser is bot.localapi.FakeUser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("AIGAQ_TEST_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
async def test_walk_the_intake_in_kazakh_on_the_page_then_review_it(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    port = free_port()
    keep = tmp_path / "trial"
    stopping = threading.Event()

    def run() -> None:
        async def main() -> None:
            task = asyncio.create_task(trial.serve(port, keep))
            await asyncio.to_thread(stopping.wait)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    photo = tmp_path / "photo.png"
    photo.write_bytes(tiny_png())
    base = f"http://127.0.0.1:{port}"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = await browser.new_page()
            for _ in range(100):
                try:
                    await page.goto(base + "/?lang=kk")
                    break
                except Exception:
                    await asyncio.sleep(0.2)
            assert "жергілікті" in (await page.inner_text("#banner")).lower()

            async def say(text: str) -> None:
                await page.fill("#text", text)
                await page.click("#send")
                await page.wait_for_timeout(150)

            async def press(data: str) -> None:
                await page.locator(f'button[data-cb="{data}"]').last.click()
                await page.wait_for_timeout(150)

            await say("/start")
            await press("lang:kk")
            await page.screenshot(path=str(tmp_path / "trial-kk.png"))
            assert "Бастамас бұрын" in await page.inner_text("#chat")
            await press("i:safety:_continue")
            await press("i:relation:son")
            await press("i:own_name:_skip")
            await press("i:residence:_skip")
            await say("Ерлан Нұрғалиұлы")
            await press("i:name_alt:_skip")
            await press("i:gender:male")
            await say("1985")
            await press("i:hometown:ili")
            await press("i:hometown_detail:_skip")
            await say("05.2018")
            await press("i:status:camp")
            for step in ("held_at", "last_contact", "occupation", "reason", "detained_place"):
                await press(f"i:{step}:_skip")
            await press("i:perpetrators:_unknown")
            for step in ("id_number", "steps_taken"):
                await press(f"i:{step}:_skip")
            await press("i:another:no")
            await say("Ұлымды 2018 жылы алып кетті.")
            await press("i:narrative:_done")
            await page.set_input_files("#photo", str(photo))
            await page.wait_for_timeout(300)
            assert "1-сурет алынды" in await page.inner_text("#chat")
            await press("i:evidence:_done")
            await press("i:consent_contact:yes")
            await press("i:consent_sharing:organisations")
            await press("i:consent_un:no")
            await press("i:subscribe:no")
            await press("i:summary:submit")
            found = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", await page.inner_text("#chat"))
            assert found is not None
            code = found.group(0)
            console = await browser.new_page()
            await console.goto(base + "/review/?lang=kk")
            await console.fill("#passphrase", trial.DEMO_PASSPHRASE)
            await console.click("#unlock")
            await console.click(f"text={code}")
            assert "Ерлан Нұрғалиұлы" in await console.inner_text("body")
            # The working copy is made when asked for (bot/reviewing/clean.py): wait for it.
            await console.wait_for_function(
                "() => { const i = document.querySelector('img.evidence');"
                " return i !== null && i.complete && i.naturalWidth > 0; }",
                timeout=20_000,
            )
            width = await console.locator("img.evidence").evaluate("img => img.naturalWidth")
            assert width == 2
            await browser.close()
    finally:
        stopping.set()
        thread.join(timeout=20)
