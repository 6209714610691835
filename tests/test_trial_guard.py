"""`aigaq try` cannot be driven or read by another web site, and each tab sees its own chat."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot import trial
from tests.harness import Harness

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TAB_A, TAB_B = "a" * 32, "b" * 32


@pytest.fixture
async def page(harness: Harness, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    assert harness.app is not None
    run = trial.Trial(harness.app, harness.api, tmp_path)
    site = trial.create_page(run, tmp_path / "demo-reviewer.key")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url=BASE) as client:
        yield client


async def token_of(client: httpx.AsyncClient) -> str:
    """The run's token, read the way the page's script reads it: from the page itself."""
    html = (await client.get("/?lang=en")).text
    found = re.search(r'<meta name="aigaq-trial-token" content="([^"]+)">', html)
    assert found is not None
    return found.group(1)


def headers(token: str, tab: str) -> dict[str, str]:
    return {"X-Aigaq-Trial": token, "X-Aigaq-Tab": tab}


async def test_a_text_plain_or_form_post_from_another_site_is_refused(
    page: httpx.AsyncClient,
) -> None:
    # What a hostile page can send without asking: a "simple" request, no custom headers.
    plain = await page.post(
        "/api/send",
        content='{"text": "/start"}',
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
    )
    form = await page.post("/api/send", data={"text": "/start"})
    upload = await page.post("/api/upload", files={"file": ("a.txt", b"hello")})
    assert [plain.status_code, form.status_code, upload.status_code] == [415, 415, 415]
    # Even with the token a form post stays refused: the API speaks JSON only.
    token = await token_of(page)
    form = await page.post("/api/send", data={"text": "/start"}, headers=headers(token, TAB_A))
    assert form.status_code == 415
    assert (await page.get("/api/messages", headers=headers(token, TAB_A))).json()["messages"] == []


async def test_a_json_post_without_this_runs_token_is_refused(page: httpx.AsyncClient) -> None:
    body = {"text": "/start", "lang": "en"}
    missing = await page.post("/api/send", json=body, headers={"X-Aigaq-Tab": TAB_A})
    wrong = await page.post("/api/send", json=body, headers=headers("guessed", TAB_A))
    reading = await page.get("/api/messages", headers={"X-Aigaq-Tab": TAB_A})
    assert [missing.status_code, wrong.status_code, reading.status_code] == [403, 403, 403]
    token = await token_of(page)
    sent = await page.post("/api/send", json=body, headers=headers(token, TAB_A))
    assert sent.status_code == 200 and sent.json()["messages"], "the page's own post works"


async def test_a_foreign_host_is_refused(page: httpx.AsyncClient) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own name, or the wrong port.
    for host in ("evil.example", f"evil.example:{PORT}", "127.0.0.1:9999", "localhost.evil"):
        assert (await page.get("/", headers={"Host": host})).status_code == 400, host
        refused = await page.get("/api/messages", headers={"Host": host})
        assert refused.status_code == 400, host
    for host in (f"127.0.0.1:{PORT}", f"localhost:{PORT}"):
        assert (await page.get("/", headers={"Host": host})).status_code == 200, host


async def test_two_tabs_do_not_see_each_others_messages(page: httpx.AsyncClient) -> None:
    token = await token_of(page)

    async def chat(tab: str) -> list[str]:
        messages = (await page.get("/api/messages", headers=headers(token, tab))).json()["messages"]
        return [m["text"] for m in messages]

    start = {"text": "/start", "lang": "en"}
    first = await page.post("/api/send", json=start, headers=headers(token, TAB_A))
    assert first.status_code == 200 and len(first.json()["messages"]) >= 2
    assert await chat(TAB_B) == [], "a new tab is a new person with an empty chat"
    await page.post(
        "/api/send", json={"text": "/start", "lang": "ru"}, headers=headers(token, TAB_B)
    )
    before = await chat(TAB_A)
    # Tab B writes; naming tab A's or the admin's user in the body changes nothing.
    await page.post(
        "/api/send",
        json={"text": "Tab B's secret", "uid": trial.ADMIN_ID, "lang": "ru"},
        headers=headers(token, TAB_B),
    )
    assert "Tab B's secret" in await chat(TAB_B)
    assert await chat(TAB_A) == before == [m["text"] for m in first.json()["messages"]]
    # "A relative (new)" gives the tab a fresh, empty chat of its own.
    fresh = await page.post("/api/become", json={"as": "relative"}, headers=headers(token, TAB_B))
    assert fresh.json()["messages"] == [] and await chat(TAB_A) == before


async def test_a_photo_is_shown_only_to_its_own_tab(
    page: httpx.AsyncClient, harness: Harness
) -> None:
    from tests.test_console import tiny_png

    token = await token_of(page)
    started = await page.post(
        "/api/send", json={"text": "/start", "lang": "en"}, headers=headers(token, TAB_A)
    )
    assert started.status_code == 200
    await page.get("/api/messages", headers=headers(token, TAB_B))
    assert harness.app is not None
    (person,) = [chat for chat, messages in harness.api.chats.items() if messages]
    photo = harness.api.register_file(tiny_png(), kind="photo")
    sent = await harness.app.bot.send_photo(person, photo.file_id, caption="News")
    mine = (await page.get("/api/messages", headers=headers(token, TAB_A))).json()["messages"]
    assert mine[-1]["photo"] and mine[-1]["text"] == "News"
    url = f"/api/photo?message={sent.message_id}"
    shown = await page.get(url, headers=headers(token, TAB_A))
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.content == tiny_png()
    assert (await page.get(url, headers=headers(token, TAB_B))).status_code == 404
    assert (await page.get(url, headers={"X-Aigaq-Tab": TAB_A})).status_code == 403
    # A message that is no photo, or a file the browser would not show as one, is refused.
    other = f"/api/photo?message={mine[0]['id']}"
    assert (await page.get(other, headers=headers(token, TAB_A))).status_code == 404


async def test_the_banner_says_not_to_enter_real_testimony(page: httpx.AsyncClient) -> None:
    for lang, words in (
        ("en", "do not enter real testimony"),
        ("ru", "не вводите здесь настоящие показания"),
        ("kk", "шынайы айғақты"),
    ):
        html = (await page.get(f"/?lang={lang}")).text
        assert words in html, lang
    response = await page.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"


ATTACK = """<!doctype html><title>a page on another origin</title>
<form id="f" method="post" action="{trial}/api/send" enctype="text/plain">
<input name='{{"text": "/start", "x": "' value='"}}'></form>
<script>
const trial = "{trial}";
window.results = [];
async function attempt(name, run) {{
  try {{ const r = await run(); window.results.push(name + ":" + r.status); }}
  catch (e) {{ window.results.push(name + ":blocked"); }}
}}
(async () => {{
  await attempt("text/plain", () => fetch(trial + "/api/send", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{text: "/start"}})}}));
  await attempt("json", () => fetch(trial + "/api/send", {{method: "POST",
    headers: {{"Content-Type": "application/json", "X-Aigaq-Trial": "guess",
      "X-Aigaq-Tab": "{tab}"}},
    body: JSON.stringify({{text: "/start"}})}}));
  await attempt("read", () => fetch(trial + "/api/messages"));
  await attempt("page", () => fetch(trial + "/"));
  window.done = true;
}})();
</script>"""


@pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("AIGAQ_TEST_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
async def test_a_page_on_another_origin_can_neither_drive_nor_read_the_trial(
    harness: Harness, tmp_path: Path
) -> None:
    import uvicorn
    from playwright.async_api import async_playwright
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from tests.test_trial import free_port

    assert harness.app is not None
    run = trial.Trial(harness.app, harness.api, tmp_path)
    port, evil_port = free_port(), free_port()
    own = f"http://127.0.0.1:{port}"

    async def attack(_request: object) -> HTMLResponse:
        return HTMLResponse(ATTACK.format(trial=own, tab="e" * 32))

    servers = [
        uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=p, log_level="warning"))
        for app, p in (
            (trial.create_page(run, tmp_path / "demo-reviewer.key"), port),
            (Starlette(routes=[Route("/", attack)]), evil_port),
        )
    ]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    try:
        for _ in range(200):
            if all(server.started for server in servers):
                break
            await asyncio.sleep(0.05)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            evil = await browser.new_page()
            await evil.goto(f"http://127.0.0.1:{evil_port}/")
            await evil.wait_for_function("window.done === true")
            results = await evil.evaluate("window.results")
            # A form's text/plain post shaped as JSON, the oldest trick: refused too.
            async with evil.expect_navigation():
                await evil.evaluate("document.getElementById('f').submit()")
            assert "application/json" in await evil.inner_text("body")
            # No-cors gives an opaque answer; the others are blocked by the browser (CORS).
            assert results == ["text/plain:0", "json:blocked", "read:blocked", "page:blocked"]
            assert run.users == {} and run.tabs == {}, "nothing reached the bot"
            assert harness.api.chats == {} or all(not c for c in harness.api.chats.values())
            await browser.close()
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
