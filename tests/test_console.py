"""The review console: locked until unlocked, idle-locked, decisions and files through HTTP,
and the whole path in a real browser (headless Chromium, driven by Playwright)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.console.app import create_app, media_type
from bot.models import CaseStatus
from bot.review import Reviewer
from tests.harness import Harness
from tests.test_intake_dialogue import PERSONS

PASSPHRASE = "a long enough passphrase"


def tiny_png() -> bytes:
    """A real 2x2 PNG, so the browser can show it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def a_case(harness: Harness, tmp_path: Path) -> tuple[str, Path]:
    user = harness.user(user_id=8000, language_code="kk")
    await user.send_command("start")
    await user.press("lang:kk")
    await user.press("i:safety:_continue")
    await user.press("i:relation:mother")
    await user.press("i:own_name:_skip")
    await user.press("i:residence:_skip")
    await user.send_text(PERSONS[0]["name"])
    for step in ("name_alt", "gender"):
        await user.press(f"i:{step}:_skip")
    await user.send_text("1985")
    await user.press("i:hometown:ili")
    await user.press("i:hometown_detail:_skip")
    await user.send_text("2018")
    await user.press("i:status:camp")
    for step in ("held_at", "last_contact", "occupation", "reason", "detained_place"):
        await user.press(f"i:{step}:_skip")
    await user.press("i:perpetrators:_unknown")
    for step in ("id_number", "steps_taken"):
        await user.press(f"i:{step}:_skip")
    await user.press("i:another:no")
    await user.send_voice(b"OggS" + b"voice" * 100)
    await user.press("i:narrative:_done")
    await user.send_photo(tiny_png())
    await user.press("i:evidence:_done")
    await user.press("i:consent_contact:yes")
    await user.press("i:consent_sharing:organisations")
    await user.press("i:consent_un:no")
    await user.press("i:subscribe:no")
    await user.press("i:summary:submit")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", user.messages[-2].text or "")
    assert code is not None
    key_file = tmp_path / "reviewer.key"
    harness.reviewer.save(key_file, PASSPHRASE, scrypt_n=2**10)
    return code.group(0), key_file


def test_media_types_from_first_bytes() -> None:
    assert media_type(b"%PDF-1.4", "document") == "application/pdf"
    assert media_type(tiny_png(), "photo") == "image/png"
    assert media_type(b"OggS....", "voice") == "audio/ogg"
    assert media_type(b"\x00\x00\x00\x18ftypmp42", "video") == "video/mp4"


async def test_locked_until_unlocked_then_decide_and_stream_files(
    harness: Harness, tmp_path: Path
) -> None:
    code, key_file = await a_case(harness, tmp_path)
    app = create_app(harness.services.sessionmaker, key_file, idle_minutes=15)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        locked = await client.get("/")
        assert "passphrase" in locked.text and code not in locked.text
        assert (await client.get(f"/case/{code}")).status_code == 303
        csrf = re.search(r'name="csrf" value="([^"]+)"', locked.text).group(1)  # type: ignore[union-attr]
        wrong = await client.post("/unlock", data={"csrf": csrf, "passphrase": "nope"})
        assert wrong.headers["location"] == "/?error=1"
        await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
        queue = await client.get("/?lang=kk")
        assert code in queue.text and "Тексеруші пульті" in queue.text
        page = await client.get(f"/case/{code}")
        assert "Ерлан Нұрғалиұлы" in page.text and "Іле" in page.text
        uid = re.search(r'img class="evidence" alt="photo" src="/file/([0-9a-f]+)"', page.text)
        assert uid is not None
        image = await client.get(f"/file/{uid.group(1)}")
        assert image.content == tiny_png() and image.headers["content-type"] == "image/png"
        assert image.headers["cache-control"] == "no-store"
        forged = await client.post(
            f"/case/{code}/status", data={"csrf": "forged", "status": "verified"}
        )
        assert "stale form" in forged.text
        await client.post(
            f"/case/{code}/status",
            data={
                "csrf": csrf,
                "status": "verified",
                "grade": "corroborated",
                "note": "seen the list",
            },
        )
        assert (
            await Reviewer(harness.services.sessionmaker, harness.reviewer).show(code)
        ).status == CaseStatus.VERIFIED
        exported = await client.get("/export?format=csv")
        assert exported.content.startswith(b"\xef\xbb\xbf") and code.encode() in exported.content
        await client.post("/lock")
        assert "passphrase" in (await client.get("/")).text
    other = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
    async with other:
        assert (await other.get(f"/file/{uid.group(1)}")).status_code == 403


async def test_idle_console_locks_itself(harness: Harness, tmp_path: Path) -> None:
    _code, key_file = await a_case(harness, tmp_path)
    app = create_app(harness.services.sessionmaker, key_file, idle_minutes=0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
        await client.post("/unlock", data={"csrf": csrf.group(1), "passphrase": PASSPHRASE})  # type: ignore[union-attr]
        await asyncio.sleep(0.01)
        assert "passphrase" in (await client.get("/")).text


class Server(threading.Thread):
    """uvicorn on a free loopback port, in its own thread and event loop."""

    def __init__(self, app: Any) -> None:
        super().__init__(daemon=True)
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )

    def run(self) -> None:
        self.server.run()


@pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("AIGAQ_TEST_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
async def test_in_a_real_browser_unlock_open_see_verify_export(
    harness: Harness, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    from bot import db

    code, key_file = await a_case(harness, tmp_path)
    # The console gets its own engine: it runs in the server thread's event loop.
    engine = db.create_engine(harness.settings.database_url)
    server = Server(create_app(db.make_sessionmaker(engine), key_file))
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
            page = await browser.new_page(accept_downloads=True)
            await page.goto(base + "/?lang=en")
            await page.fill("#passphrase", PASSPHRASE)
            await page.click("#unlock")
            await page.click(f"text={code}")
            assert await page.inner_text("#code") == code
            image = page.locator("img.evidence")
            await image.wait_for()
            width = await image.evaluate("img => img.complete && img.naturalWidth")
            assert width == 2
            assert await page.locator("audio").count() == 1
            await page.select_option("#decision", "verified")
            await page.select_option("#grade", "documented")
            await page.fill("#note", "photo matches")
            await page.click("#decide")
            assert await page.inner_text("#status") == "verified"
            await page.goto(base + "/")
            async with page.expect_download() as download_info:
                await page.click("#export-bundle")
            download = await download_info.value
            saved = tmp_path / "bundle.zip"
            await download.save_as(saved)
            await page.screenshot(path=str(tmp_path / "console.png"))
            await browser.close()
        from bot.export import verify_bundle

        assert verify_bundle(saved, harness.reviewer.signing_public_hex()) == 3
    finally:
        server.server.should_exit = True
        server.join(timeout=10)
        await engine.dispose()


async def test_ask_a_follow_up_from_the_console(harness: Harness, tmp_path: Path) -> None:
    code, key_file = await a_case(harness, tmp_path)
    app = create_app(harness.services.sessionmaker, key_file)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
        assert csrf is not None
        await client.post("/unlock", data={"csrf": csrf.group(1), "passphrase": PASSPHRASE})
        await client.post(
            f"/case/{code}/ask", data={"csrf": csrf.group(1), "question": "Where was he taken?"}
        )
        page = await client.get(f"/case/{code}")
        assert "Where was he taken?" in page.text and "(queued)" in page.text


async def test_possible_duplicates_side_by_side(harness: Harness, tmp_path: Path) -> None:
    from tests.test_intake_dialogue import walk_intake

    code, key_file = await a_case(harness, tmp_path)
    sister = harness.user(user_id=8001, language_code="en")
    other = await walk_intake(sister, locale="en", persons=PERSONS[:1])
    app = create_app(harness.services.sessionmaker, key_file)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
        assert csrf is not None
        await client.post("/unlock", data={"csrf": csrf.group(1), "passphrase": PASSPHRASE})
        case_page = await client.get(f"/case/{code}")
        assert f"/compare/{code}/{other}" in case_page.text
        both = await client.get(f"/compare/{code}/{other}")
        assert both.text.count("Ерлан Нұрғалиұлы") == 2 and "Қазақстанға барғаны үшін" in both.text
        await client.post(f"/case/{other}/link", data={"csrf": csrf.group(1), "original": code})
        assert f"/case/{code}" in (await client.get(f"/case/{other}")).text
