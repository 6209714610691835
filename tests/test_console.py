"""The review console: locked until unlocked, idle-locked, decisions and files through HTTP,
guarded against other hosts and origins, and the whole path in a real browser (headless
Chromium, driven by Playwright)."""

from __future__ import annotations

import asyncio
import io
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

from bot.models import CaseStatus
from bot.reviewing.cases import Reviewer
from bot.reviewing.console.app import create_app, media_type
from bot.reviewing.pins import Pins
from tests.harness import Harness
from tests.scenario import BUTTONS_AFTER_ID, answer_token
from tests.test_intake_dialogue import PERSONS

PASSPHRASE = "a long enough passphrase"


def pixels(data: bytes) -> bytes:
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


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


def a_key(harness: Harness, tmp_path: Path) -> Path:
    """The reviewer's key, saved with PASSPHRASE."""
    key_file = tmp_path / "reviewer.key"
    harness.reviewer.save(key_file, PASSPHRASE, scrypt_n=2**10)
    return key_file


async def a_case(harness: Harness, tmp_path: Path) -> tuple[str, Path]:
    user = harness.user(user_id=8000, language_code="kk")
    await user.send_command("start")
    await user.press("lang:kk")
    await user.press("i:safety:_continue")
    await user.press("i:relation:mother")
    await user.press("i:own_name:_skip")
    await user.press("i:residence:_skip")
    await user.send_text(PERSONS[0]["name"])
    for step in ("name_alt", "name_han", "gender"):
        await user.press(f"i:{step}:_skip")
    await user.send_text("1985")
    await user.press("i:hometown:ili")
    await user.press("i:hometown_detail:_skip")
    await user.send_text("2018")
    await user.press("i:status:camp")
    for step in ("told_where", "held_at", "last_contact", "occupation", "reason", "detained_place"):
        await user.press(f"i:{step}:_skip")
    await user.press("i:perpetrators:_unknown")
    for step in ("id_number", *BUTTONS_AFTER_ID, "steps_taken"):
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
    return code.group(0), a_key(harness, tmp_path)


def test_media_types_from_first_bytes() -> None:
    assert media_type(b"%PDF-1.4", "document") == "application/pdf"
    assert media_type(tiny_png(), "photo") == "image/png"
    assert media_type(b"OggS....", "voice") == "audio/ogg"
    assert media_type(b"\x00\x00\x00\x18ftypmp42", "video") == "video/mp4"
    assert media_type(b"%PDF-1.7", "text") == "text/plain; charset=utf-8"


async def test_locked_until_unlocked_then_decide_and_stream_files(
    harness: Harness, tmp_path: Path
) -> None:
    code, key_file = await a_case(harness, tmp_path)
    app = create_app(
        harness.services.sessionmaker,
        key_file,
        idle_minutes=15,
        # She agreed to contact: a decision seals her notice to the bot's certified key.
        pins=Pins(inbox_fingerprint=harness.inbox_fingerprint),
    )
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
        uid = re.search(r'img class="evidence" alt="[^"]*" src="/file/([0-9a-f]+)"', page.text)
        assert uid is not None
        image = await client.get(f"/file/{uid.group(1)}")
        # A working copy without metadata: the same picture, re-encoded (bot/reviewing/clean.py).
        assert image.headers["content-type"] == "image/png"
        assert pixels(image.content) == pixels(tiny_png())
        assert image.headers["cache-control"] == "no-store"
        original = await client.get(f"/file/{uid.group(1)}?original=1")
        assert original.content == tiny_png()  # the sealed original, the evidentiary copy
        assert original.headers["content-disposition"].startswith("attachment")
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
        exported = await client.post("/export", data={"csrf": csrf, "format": "csv"})
        assert exported.content.startswith(b"\xef\xbb\xbf") and code.encode() in exported.content
        await client.post("/lock", data={"csrf": csrf})
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
    server = Server(
        create_app(
            db.make_sessionmaker(engine),
            key_file,
            pins=Pins(inbox_fingerprint=harness.inbox_fingerprint),
        )
    )
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
            # Its working copy is made when asked for (bot/reviewing/clean.py): wait for it.
            await page.wait_for_function(
                "() => { const i = document.querySelector('img.evidence');"
                " return i !== null && i.complete && i.naturalWidth > 0; }",
                timeout=20_000,
            )
            width = await image.evaluate("img => img.naturalWidth")
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
        from bot.reviewing.bundle import verify_bundle

        assert verify_bundle(saved, harness.reviewer.signing_public_hex()) == 4  # roster too
    finally:
        server.server.should_exit = True
        server.join(timeout=10)
        await engine.dispose()


async def test_ask_a_follow_up_from_the_console(harness: Harness, tmp_path: Path) -> None:
    code, key_file = await a_case(harness, tmp_path)
    app = create_app(
        harness.services.sessionmaker,
        key_file,
        pins=Pins(inbox_fingerprint=harness.inbox_fingerprint),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
        assert csrf is not None
        await client.post("/unlock", data={"csrf": csrf.group(1), "passphrase": PASSPHRASE})
        await client.post(
            f"/case/{code}/ask", data={"csrf": csrf.group(1), "question": "Where was he taken?"}
        )
        page = await client.get(f"/case/{code}")
        assert "Where was he taken?" in page.text and "(waiting to be sent)" in page.text


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


# What every console response must tell the browser (M3 in the 2026-11 security review).
GUARD_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def assert_guarded(response: httpx.Response, *, sandboxed: bool = False) -> None:
    expected = dict(GUARD_HEADERS)
    if sandboxed:
        expected["content-security-policy"] += "; sandbox"
    got = {name: response.headers.get(name) for name in expected}
    assert got == expected, f"{response.request.method} {response.request.url}"


async def csrf_of(client: httpx.AsyncClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
    assert found is not None
    return found.group(1)


async def test_a_foreign_host_gets_400_and_never_the_page(harness: Harness, tmp_path: Path) -> None:
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = await csrf_of(client)
        for host in (
            "rebind.attacker.example",
            "rebind.attacker.example:80",
            "127.0.0.1:8080",  # the console listens on 80 here
            "127.0.0.1.attacker.example",
            "evil@127.0.0.1",
            "",
        ):
            refused = await client.get("/", headers={"host": host})
            assert refused.status_code == 400, host
            assert csrf not in refused.text and "csrf" not in refused.text
            assert_guarded(refused)
        unlock = await client.post(
            "/unlock",
            data={"csrf": csrf, "passphrase": PASSPHRASE},
            headers={"host": "rebind.attacker.example"},
        )
        assert unlock.status_code == 400 and "aigaq_console" not in unlock.headers.get(
            "set-cookie", ""
        )
        for host in ("127.0.0.1", "127.0.0.1:80", "localhost", "LOCALHOST:80", "[::1]"):
            assert (await client.get("/", headers={"host": host})).status_code == 200, host


async def test_unlock_from_another_origin_is_refused_even_with_the_passphrase(
    harness: Harness, tmp_path: Path
) -> None:
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = await csrf_of(client)
        good = {"csrf": csrf, "passphrase": PASSPHRASE}
        for headers in (
            {"origin": "http://rebind.attacker.example"},
            {"origin": "null"},  # a sandboxed frame, a data: or file: page
            {"origin": "http://127.0.0.1:8080"},  # another program on this computer
            {"origin": "https://127.0.0.1"},
            {"referer": "http://rebind.attacker.example/lure.html"},
            {"referer": "http://127.0.0.1.attacker.example/"},
        ):
            refused = await client.post("/unlock", data=good, headers=headers)
            assert refused.status_code == 403, headers
            assert "set-cookie" not in refused.headers
            assert_guarded(refused)
            assert "passphrase" in (await client.get("/")).text  # still locked
        own = await client.post("/unlock", data=good, headers={"origin": "http://localhost"})
        assert own.status_code == 303 and own.headers["location"] == "/"
        assert "passphrase" not in (await client.get("/")).text


async def test_lock_needs_the_csrf_token(harness: Harness, tmp_path: Path) -> None:
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        csrf = await csrf_of(client)
        await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
        assert (await client.post("/lock")).status_code == 403
        assert (await client.post("/lock", data={"csrf": "forged"})).status_code == 403
        assert "passphrase" not in (await client.get("/")).text  # still unlocked
        assert (await client.post("/lock", data={"csrf": csrf})).status_code == 303
        assert "passphrase" in (await client.get("/")).text


async def answer_in_writing(harness: Harness, code: str, text: str) -> None:
    """She answers a follow-up question in Telegram with `text`."""
    from handlers.followup import deliver_questions

    await harness.reviewer_tool().followups.ask(code, "Anything else?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    user = harness.user(user_id=8000, language_code="kk")
    token = answer_token(user)  # her Answer button's token
    await user.press(f"fu:{token}")
    await user.send_text(text)
    await user.press(f"fudone:{token}")


async def test_a_written_answer_that_starts_like_a_pdf_is_shown_as_text(
    harness: Harness, tmp_path: Path
) -> None:
    code, key_file = await a_case(harness, tmp_path)
    written = "%PDF-1.7 <b>not a PDF</b> & no markup"
    await answer_in_writing(harness, code, written)
    app = create_app(harness.services.sessionmaker, key_file)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        await client.post("/unlock", data={"csrf": await csrf_of(client), "passphrase": PASSPHRASE})
        page = await client.get(f"/case/{code}")
        assert "%PDF-1.7 &lt;b&gt;not a PDF&lt;/b&gt; &amp; no markup" in page.text
        assert "<iframe" not in page.text and "<b>not a PDF" not in page.text
        (answer,) = (
            await Reviewer(harness.services.sessionmaker, harness.reviewer).followups.of(code)
        )[0]["answers"]
        served = await client.get(f"/file/{answer['uid']}")
        assert served.headers["content-type"] == "text/plain; charset=utf-8"
        assert served.content == written.encode()
        assert_guarded(served, sandboxed=True)


async def test_every_response_carries_the_security_headers(
    harness: Harness, tmp_path: Path
) -> None:
    code, key_file = await a_case(harness, tmp_path)
    app = create_app(harness.services.sessionmaker, key_file)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        locked = await client.get("/")
        assert_guarded(locked)
        assert_guarded(await client.get(f"/case/{code}"))  # a redirect
        assert_guarded(await client.get("/file/0123abcd"), sandboxed=True)  # 403, locked
        style = await client.get("/static/console.css")
        assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
        assert_guarded(style)
        csrf = await csrf_of(client)
        assert_guarded(await client.post("/unlock", data={"csrf": csrf, "passphrase": "no"}))
        assert_guarded(await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE}))
        page = await client.get(f"/case/{code}")
        assert_guarded(page)
        uid = re.search(r'src="/file/([0-9a-f]+)"', page.text)
        assert uid is not None
        served = await client.get(f"/file/{uid.group(1)}")
        assert served.status_code == 200
        assert_guarded(served, sandboxed=True)
        assert_guarded(await client.get("/file/0123abcd"), sandboxed=True)  # 404
        assert_guarded(await client.get("/no/such/page"))  # 404
        assert_guarded(await client.get("/unlock"))  # 405
        # A case to export: an empty export is a page that says why (issue 19).
        await harness.reviewer_tool().decisions.set_status(code, CaseStatus.VERIFIED)
        download = await client.post("/export", data={"csrf": csrf, "format": "csv"})
        assert_guarded(download, sandboxed=True)  # a download is never a page
        assert_guarded(await client.post("/export", data={"csrf": csrf, "format": "xml"}))  # 400
        assert_guarded(await client.get("/export?format=csv"))  # 405: a download is a POST
        stale = await client.post(f"/case/{code}/status", data={"csrf": "x", "status": "verified"})
        assert_guarded(stale)
        assert_guarded(await client.get("/", headers={"host": "rebind.attacker.example"}))
        assert_guarded(await client.post("/lock", headers={"origin": "null"}))


@pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("AIGAQ_TEST_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
async def test_in_a_real_browser_another_origin_can_neither_read_nor_unlock(
    harness: Harness, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from bot import db

    code, key_file = await a_case(harness, tmp_path)
    engine = db.create_engine(harness.settings.database_url)
    console = Server(create_app(db.make_sessionmaker(engine), key_file))
    lure = {"html": ""}

    async def attacker_page(_request: Any) -> HTMLResponse:
        return HTMLResponse(lure["html"])

    # Another port on 127.0.0.1: another origin, but the same site, so the console's
    # SameSite=Strict cookie still goes along with its requests.
    attacker = Server(Starlette(routes=[Route("/", attacker_page)]))
    console.start()
    attacker.start()
    base = f"http://127.0.0.1:{console.port}"
    elsewhere = f"http://127.0.0.1:{attacker.port}/"
    try:
        for _ in range(100):
            if console.server.started and attacker.server.started:
                break
            await asyncio.sleep(0.05)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    # DNS rebinding, played by the resolver: the attacker's name is now us.
                    "--host-resolver-rules=MAP rebind.attacker.example 127.0.0.1",
                ],
            )
            page = await browser.new_page()
            blocked: list[str] = []
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
            )
            await page.goto(base + "/?lang=en")
            csrf = await page.locator('form[action="/unlock"] input[name="csrf"]').input_value()
            header = "getComputedStyle(document.querySelector('header')).backgroundColor"
            assert await page.evaluate(header) == "rgb(29, 53, 87)"  # the sheet loads under CSP

            rebound = await page.goto(f"http://rebind.attacker.example:{console.port}/")
            assert rebound is not None and rebound.status == 400
            read = "fetch('/').then(async r => r.status + ' ' + await r.text())"
            same_origin_read = await page.evaluate(read)
            assert same_origin_read.startswith("400 ") and csrf not in same_origin_read

            # (a) A page elsewhere cannot read the console.
            lure["html"] = "<p>nothing to see</p>"
            await page.goto(elsewhere)
            cross_read = await page.evaluate(
                "url => fetch(url).then(r => r.text()).then(t => 'read ' + t, e => 'blocked')",
                base + "/",
            )
            assert cross_read == "blocked"

            # (b) Nor unlock it, even knowing the token and the passphrase.
            lure["html"] = (
                f'<form method="post" action="{base}/unlock">'
                f'<input name="csrf" value="{csrf}"><input name="passphrase" value="{PASSPHRASE}">'
                '<button id="go">go</button></form>'
            )
            await page.goto(elsewhere)
            async with page.expect_response(base + "/unlock") as posted:
                await page.click("#go")
            assert (await posted.value).status == 403
            await page.goto(base + "/")
            assert await page.locator("#passphrase").count() == 1  # still locked

            # The reviewer's own posts do pass, in the same browser.
            await page.fill("#passphrase", PASSPHRASE)
            await page.click("#unlock")
            assert await page.locator(f"text={code}").count() == 1

            # With her session open, a page elsewhere cannot lock it (or post anything) either.
            lure["html"] = (
                f'<form method="post" action="{base}/lock">'
                f'<input name="csrf" value="{csrf}"><button id="go">go</button></form>'
            )
            await page.goto(elsewhere)
            async with page.expect_response(base + "/lock") as posted:
                await page.click("#go")
            assert (await posted.value).status == 403
            await page.goto(base + "/")
            assert await page.locator(f"text={code}").count() == 1  # still hers, still open
            await page.click(f"text={code}")
            assert await page.inner_text("#code") == code
            await page.click("#lock")
            assert await page.locator("#passphrase").count() == 1
            await browser.close()
        assert blocked == []
    finally:
        for server in (console, attacker):
            server.server.should_exit = True
            server.join(timeout=10)
        await engine.dispose()
