"""`aigaq try`: the local chat page runs the real bot; walked in a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
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

            # An empty chat shows Telegram's Start button instead of the message field.
            await page.click("#start")
            await page.wait_for_timeout(150)
            await press("lang:kk")
            await page.screenshot(path=str(tmp_path / "trial-kk.png"))
            assert "Бастамас бұрын" in await page.inner_text("#chat")
            await press("i:safety:_continue")
            await press("i:relation:son")
            await press("i:own_name:_skip")
            await press("i:residence:_skip")
            await say("Ерлан Нұрғалиұлы")
            await press("i:name_alt:_skip")
            await press("i:name_han:_skip")
            await press("i:gender:male")
            await say("1985")
            await press("i:hometown:ili")
            await press("i:hometown_detail:_skip")
            await say("05.2018")
            await press("i:status:camp")
            await press("i:told_where:_skip")
            for step in ("held_at", "last_contact", "occupation", "reason", "detained_place"):
                await press(f"i:{step}:_skip")
            await press("i:perpetrators:_unknown")
            for step in ("id_number", "citizenship", "kz_status", "documents_taken"):
                await press(f"i:{step}:_skip")
            for step in ("travel_ban", "steps_taken"):
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


ROOT = Path(__file__).parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_without_a_token_points_to_the_trial_and_the_doctor(tmp_path: Path) -> None:
    # The Makefile's own recipe, with the catalogs and the migration stubbed out: only
    # `aigaq run` is real, in an environment with no settings at all.
    shims = tmp_path / "bin"
    shims.mkdir()
    aigaq = Path(sys.executable).parent / "aigaq"
    (shims / "python").write_text("#!/bin/sh\nexit 0\n")
    (shims / "aigaq").write_text(f'#!/bin/sh\n[ "$1" = db ] && exit 0\nexec {aigaq} "$@"\n')
    for shim in shims.iterdir():
        shim.chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIGAQ_")}
    result = subprocess.run(  # noqa: S603 - make with fixed arguments
        ["make", "-s", "-o", ".venv/.installed", "run", f"BIN={shims}"],  # noqa: S607
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "AIGAQ_BOT_TOKEN" in result.stderr and "@BotFather" in result.stderr
    assert "`make try`" in result.stderr and "aigaq doctor" in result.stderr


def test_every_folder_of_the_package_is_declared_so_installs_print_no_warning() -> None:
    # setuptools warns ("Package 'bot.templates' is absent from the `packages`
    # configuration") at every install when a folder it ships data from is not listed.
    with (ROOT / "pyproject.toml").open("rb") as source:
        setuptools = tomllib.load(source)["tool"]["setuptools"]
    folders = {
        ".".join(path.relative_to(ROOT).parts)
        for top in ("bot", "handlers")
        for path in [ROOT / top, *(ROOT / top).rglob("*")]
        if path.is_dir() and path.name != "__pycache__"
    }
    assert folders == set(setuptools["packages"])
    shipped = {
        f"{package}/{pattern}".replace(".", "/", package.count("."))
        for package, patterns in setuptools["package-data"].items()
        for pattern in patterns
    }
    for data in [*ROOT.glob("bot/**/*.html"), *ROOT.glob("bot/**/*.css")]:
        relative = str(data.relative_to(ROOT))
        assert any(fnmatch.fnmatch(relative, p) for p in shipped), relative


def test_a_long_text_is_split_as_a_telegram_app_splits_it() -> None:
    from bot.localapi.calls import utf16_length
    from bot.trial_chat import split_typed

    assert split_typed("  short  ") == ["short"] and split_typed(" \n ") == []
    paragraphs = "First paragraph.\n\n" + "a" * 3000 + "\n\n" + "b" * 3000
    assert split_typed(paragraphs) == ["First paragraph.\n\n" + "a" * 3000, "b" * 3000]
    # Telegram counts UTF-16 code units: an emoji is two of them.
    emoji = "😀" * 3000
    parts = split_typed(emoji)
    assert "".join(parts) == emoji and all(utf16_length(p) <= 4096 for p in parts)
    assert [utf16_length(p) for p in parts] == [4096, 1904]
