"""The console, hardened (issue 17): a form token per browser, unlock attempts slowed, the key
dropped by a timer with no request, searches, exports and locking as checked POSTs whose
files do not stay behind, files that cannot run as pages, names that cannot reorder one."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.reviewing.bundle import ExportError
from bot.reviewing.console import routes_files
from bot.reviewing.console.app import COOKIE, create_app
from bot.reviewing.console.media import disposition, media_type
from bot.reviewing.console.session import ConsoleState
from bot.reviewing.pins import Pins
from tests.harness import Harness
from tests.scenario import walk_intake
from tests.test_console import (
    PASSPHRASE,
    a_case,
    a_key,
    answer_in_writing,
    assert_guarded,
    csrf_of,
)
from tests.test_intake_dialogue import PERSONS

HOST = "http://127.0.0.1"


def half_an_export(out: Path, code: str) -> None:
    out.write_text(f"{code} half an export")


def state_of(app: Any) -> ConsoleState:
    """What the console holds in memory."""
    state: ConsoleState = app.app.state.console
    return state


def client_for(app: Any) -> httpx.AsyncClient:
    """A browser of its own: its own cookie jar, so its own session."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HOST)


async def unlocked(client: httpx.AsyncClient) -> str:
    csrf = await csrf_of(client)
    response = await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
    assert response.status_code == 303 and response.headers["location"] == "/"
    return csrf


async def test_each_browser_has_its_own_form_token(harness: Harness, tmp_path: Path) -> None:
    code, key_file = await a_case(harness, tmp_path)
    app = create_app(harness.services.sessionmaker, key_file)
    async with client_for(app) as hers, client_for(app) as other:
        other_csrf = await csrf_of(other)
        before = await csrf_of(hers)
        assert before != other_csrf
        fixed = hers.cookies[COOKIE]
        csrf = await unlocked(hers)
        assert csrf == before and hers.cookies[COOKIE] != fixed  # a new cookie once unlocked
        # Another browser's token is refused in hers, and her token is no use in another.
        forged = await hers.post(
            f"/case/{code}/status", data={"csrf": other_csrf, "status": "verified"}
        )
        assert "stale form" in forged.text
        assert (await hers.post("/lock", data={"csrf": other_csrf})).status_code == 403
        assert (await hers.post("/search", data={"csrf": other_csrf, "q": "x"})).status_code == 403
        assert "passphrase" not in (await hers.get("/")).text  # still open for her
        # The other browser did not unlock: it sees the lock, with her token or its own.
        assert (
            "passphrase" in (await other.get("/")).text and code not in (await other.get("/")).text
        )
        assert (await other.get(f"/case/{code}")).status_code == 303
        # A cookie from before the unlock (planted by someone else) opens nothing.
    async with client_for(app) as planted:
        planted.cookies.set(COOKIE, fixed)
        assert "passphrase" in (await planted.get("/")).text


async def test_the_sixth_attempt_waits_even_with_the_right_passphrase(
    harness: Harness, tmp_path: Path
) -> None:
    now = [1000.0]
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path), clock=lambda: now[0])
    async with client_for(app) as client:
        csrf = await csrf_of(client)
        for _ in range(5):
            wrong = await client.post("/unlock", data={"csrf": csrf, "passphrase": "guess"})
            assert wrong.status_code == 303 and wrong.headers["location"] == "/?error=1"
        slowed = await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
        assert slowed.status_code == 429 and "Too many wrong passphrases" in slowed.text
        assert int(slowed.headers["retry-after"]) > 0 and COOKIE not in slowed.headers.get(
            "set-cookie", ""
        )
        assert_guarded(slowed)
        assert "passphrase" in (await client.get("/")).text  # still locked
        now[0] += int(slowed.headers["retry-after"]) + 1
        # Another wrong one after the wait: heard, and the next wait is longer.
        assert (
            await client.post("/unlock", data={"csrf": csrf, "passphrase": "guess"})
        ).status_code == 303
        longer = await client.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
        assert longer.status_code == 429
        assert int(longer.headers["retry-after"]) > int(slowed.headers["retry-after"])
        now[0] += int(longer.headers["retry-after"]) + 1
        await unlocked(client)
        assert "passphrase" not in (await client.get("/")).text
        assert state_of(app).attempts.wait() == 0  # the count starts again


async def test_an_idle_key_is_dropped_without_any_request(harness: Harness, tmp_path: Path) -> None:
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path), idle_minutes=0.2 / 60)
    state = state_of(app)
    async with client_for(app) as client:
        await unlocked(client)
        assert state.reviewer is not None
        await asyncio.sleep(0.6)  # no request meanwhile
        assert state.reviewer is None
        assert not any(session.unlocked for session in state.sessions.values())
        assert "passphrase" in (await client.get("/")).text


async def test_the_idle_timer_runs_from_start_up(harness: Harness, tmp_path: Path) -> None:
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path), idle_minutes=1)
    state = state_of(app)
    async with app.app.router.lifespan_context(app.app):
        assert state._timer is not None and not state._timer.done()
    assert state._timer.done() and state.reviewer is None


async def test_search_export_and_lock_are_checked_posts(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, key_file = await a_case(harness, tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    pins = Pins(inbox_fingerprint=harness.inbox_fingerprint)
    app = create_app(harness.services.sessionmaker, key_file, pins=pins)
    async with client_for(app) as client:
        csrf = await unlocked(client)
        queue = await client.get("/")
        assert (
            'action="/search" method' in queue.text
            or 'method="post" action="/search"' in queue.text
        )
        assert "?q=" not in queue.text and "/export?" not in queue.text
        # A name in the address does nothing; in a posted form it finds her case.
        assert code in (await client.get("/?q=nobody")).text
        assert code not in (await client.post("/search", data={"csrf": csrf, "q": "nobody"})).text
        found = await client.post("/search", data={"csrf": csrf, "q": PERSONS[0]["name"]})
        assert found.status_code == 200 and code in found.text
        in_kazakh = await client.get("/search?lang=kk")  # her language link on that page
        assert in_kazakh.status_code == 303 and in_kazakh.headers["location"] == "/?lang=kk"
        assert (await client.post("/search", data={"q": PERSONS[0]["name"]})).status_code == 403
        assert (await client.get("/export?format=csv")).status_code == 405
        assert (await client.post("/export", data={"format": "csv"})).status_code == 403

        verified = {"csrf": csrf, "status": "verified", "grade": "corroborated"}
        await client.post(f"/case/{code}/status", data=verified)
        exported = await client.post("/export", data={"csrf": csrf, "format": "jsonl"})
        assert exported.status_code == 200 and code.encode() in exported.content
        assert "attachment" in exported.headers["content-disposition"]
        assert_guarded(exported, sandboxed=True)
        assert list(scratch.iterdir()) == []  # the plaintext went with the response

        async def half_written(reviewer: Any, out: Path, fmt: str, **_: Any) -> None:
            half_an_export(out, code)
            raise ExportError("the roster is not signed")

        monkeypatch.setattr(routes_files, "export", half_written)
        failed = await client.post("/export", data={"csrf": csrf, "format": "csv"})
        assert "the roster is not signed" in failed.text
        assert list(scratch.iterdir()) == []

        async def broken(reviewer: Any, out: Path, fmt: str, **_: Any) -> None:
            half_an_export(out, code)
            raise OSError("disk full")

        monkeypatch.setattr(routes_files, "export", broken)
        with pytest.raises(OSError, match="disk full"):
            await client.post("/export", data={"csrf": csrf, "format": "csv"})
        assert list(scratch.iterdir()) == []

        assert (await client.post("/lock")).status_code == 403
        assert (await client.get("/lock")).status_code == 405
        assert (await client.post("/lock", data={"csrf": csrf})).status_code == 303
        assert "passphrase" in (await client.get("/")).text


def test_files_the_page_cannot_show_safely_are_downloads() -> None:
    assert disposition(media_type(b"%PDF-1.7", "document"), "ab12") == (
        'attachment; filename="aigaq-ab12.pdf"'
    )
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert media_type(svg, "document") == "application/octet-stream"
    assert disposition(media_type(svg, "document"), "ab12").startswith("attachment;")
    assert media_type(b"RIFF\x00\x00\x00\x00WAVEfmt ", "document") == "application/octet-stream"
    assert media_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "photo") == "image/webp"
    assert disposition("image/png", "ab12") == "inline"
    assert disposition("text/plain; charset=utf-8", "ab12") == "inline"


async def test_file_responses_are_sandboxed_and_not_sniffed(
    harness: Harness, tmp_path: Path
) -> None:
    sister = harness.user(user_id=8002, language_code="en")
    code = await walk_intake(sister, locale="en", persons=PERSONS[:1])
    app = create_app(harness.services.sessionmaker, a_key(harness, tmp_path))
    async with client_for(app) as client:
        await unlocked(client)
        page = await client.get(f"/case/{code}")
        document = re.search(r'href="/file/([0-9a-f]+)" download', page.text)
        photo = re.search(r'img class="evidence" alt="[^"]*" src="/file/([0-9a-f]+)"', page.text)
        assert document is not None and photo is not None
        pdf = await client.get(f"/file/{document.group(1)}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-disposition"].startswith("attachment;")
        assert_guarded(pdf, sandboxed=True)  # CSP …; sandbox, nosniff
        image = await client.get(f"/file/{photo.group(1)}")
        assert image.headers["content-disposition"] == "inline"
        assert image.headers["content-type"].startswith("image/")
        assert_guarded(image, sandboxed=True)


class Isolation(HTMLParser):
    """Each piece of text on a page, and whether it sits inside <bdi dir="auto">."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.stack: list[bool] = []
        self.texts: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "bdi":
            isolated = ("dir", "auto") in attrs
            self.stack.append(isolated)
            self.depth += isolated

    def handle_endtag(self, tag: str) -> None:
        if tag == "bdi" and self.stack:
            self.depth -= self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((data, self.depth > 0))


async def test_names_and_her_words_are_isolated_on_the_page(
    harness: Harness, tmp_path: Path
) -> None:
    code, key_file = await a_case(harness, tmp_path)
    hostile = "\u202eevil gpj.exe"
    await answer_in_writing(harness, code, f"He is {hostile} there")
    pins = Pins(inbox_fingerprint=harness.inbox_fingerprint)
    app = create_app(harness.services.sessionmaker, key_file, pins=pins)
    async with client_for(app) as client:
        csrf = await unlocked(client)
        asked = await client.post(
            f"/case/{code}/ask", data={"csrf": csrf, "question": f"Where {hostile}?"}
        )
        assert asked.status_code == 303
        page = Isolation()
        page.feed((await client.get(f"/case/{code}")).text)
    shown = [(text, isolated) for text, isolated in page.texts if "\u202e" in text]
    assert len(shown) == 2 and all(isolated for _text, isolated in shown), shown
    names = [isolated for text, isolated in page.texts if "Ерлан Нұрғалиұлы" in text]
    assert names and all(names)
