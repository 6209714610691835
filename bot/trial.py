"""`aigaq try`: the real bot on the in-process Bot API, and a chat page on 127.0.0.1.

The same Application, handlers, catalogs, database code and sealing as in production; only
Telegram is played by `bot.localapi`. A throw-away SQLite database and freshly made demo
keys live in a temporary folder that is deleted when the trial stops (unless --keep).
Only this machine's own page can drive it (`TrialGuard`), and each browser tab is one person
who sees only its own chat.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import db
from bot.app import build_application
from bot.context import AigaqApplication
from bot.crypto import ServerKey, load_recipients
from bot.crypto.roster import write_roster
from bot.i18n import LOCALE_NAMES, LOCALES, translate
from bot.localapi import FakeUser, LocalBotApi
from bot.models import Role
from bot.reviewing.console.app import create_app as create_console
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.pins import Pins
from bot.settings import Settings

ADMIN_ID = 1001
REVIEWER_ID = 1002
# The trial says plainly that no real organisation stands behind it.
TRIAL_ORGANISATION = "the Aigaq local trial (a demonstration, not a real organisation)"
DEMO_PASSPHRASE = "demo passphrase, local trial only"  # noqa: S105 - shown on the page


@contextmanager
def trial_folder(keep: Path | None) -> Iterator[Path]:
    """The folder for the database and keys: kept if asked, else deleted at the end."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    folder = Path(tempfile.mkdtemp(prefix="aigaq-try-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def prepare(folder: Path) -> Settings:
    """Demo keys and settings in the folder (made once; reused with --keep)."""
    server_key = folder / "server.key"
    if not server_key.exists():
        ServerKey.generate_file(server_key)
    reviewer = folder / "demo-reviewer.key"
    recipients = folder / "recipients.txt"
    roster = folder / "roster.json"
    if not reviewer.exists():
        key = ReviewerKey.generate()
        key.save(reviewer, DEMO_PASSPHRASE, scrypt_n=2**14)
        recipients.write_text(key.public().to_line() + " demo\n", encoding="utf-8")
    # A throw-away roster key: the trial's roster is signed here and the key forgotten.
    roster_key = write_roster(
        roster, Ed25519PrivateKey.generate(), load_recipients(recipients), version=1
    )
    roster.with_name(roster.name + ".seen").unlink(missing_ok=True)
    return Settings(
        bot_token="123456:LOCAL-TRIAL",  # noqa: S106 - the fake Bot API accepts any token
        database_url=f"sqlite+aiosqlite:///{folder / 'trial.db'}",
        recipients=recipients,
        roster=roster,
        roster_key=roster_key,
        secret_key_file=server_key,
        admins=[ADMIN_ID],
        organisation=TRIAL_ORGANISATION,
        max_messages_per_minute=1000,
        _env_file=None,
    )


class Trial:
    """The bot, its fake Telegram, and the people using it from browser tabs."""

    def __init__(self, application: AigaqApplication, api: LocalBotApi, folder: Path) -> None:
        self.application = application
        self.api = api
        self.folder = folder
        self.users: dict[int, FakeUser] = {}
        # Each browser tab is one person: the tab's own id -> the user it plays now.
        self.tabs: dict[str, int] = {}
        self.lock = asyncio.Lock()

    def user(self, user_id: int, language: str) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            user = self.api.user(
                user_id=user_id, language_code=language.split("_")[0], first_name="Trial"
            )
            user.application = self.application
            self.users[user_id] = user
        return user

    def new_relative(self) -> int:
        """A user id no tab has had, for a new relative."""
        taken = set(self.tabs.values()) | set(self.users) | {ADMIN_ID, REVIEWER_ID}
        while (user_id := 100_000 + secrets.randbelow(10**9)) in taken:
            pass
        return user_id

    def user_of(self, tab: str) -> int:
        """The person this tab plays: a new relative the first time it asks."""
        if tab not in self.tabs:
            self.tabs[tab] = self.new_relative()
        return self.tabs[tab]

    def become(self, tab: str, who: str) -> int:
        """The tab plays the demo admin, the demo reviewer, or a new relative."""
        self.tabs[tab] = {"admin": ADMIN_ID, "reviewer": REVIEWER_ID}.get(who) or (
            self.new_relative()
        )
        return self.tabs[tab]

    def messages(self, user_id: int) -> list[dict[str, Any]]:
        return [
            {
                "id": m.message_id,
                "from_bot": m.from_bot,
                "text": m.text or m.caption or "",
                "buttons": [[{"text": t, "data": d}] for t, d in m.buttons()],
                "protected": m.protect_content,
                "deleted": m.deleted,
                "edits": m.edits,
                "media": m.media,
            }
            for m in self.api.chats.get(user_id, [])
        ]


TOKEN_HEADER = "X-Aigaq-Trial"  # noqa: S105 - the name of the header, not a secret
TAB_HEADER = "X-Aigaq-Tab"
_TAB = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_UPLOAD = 20 * 1024 * 1024  # what a bot may download from Telegram
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


def is_own_host(host: str, port: int) -> bool:
    """127.0.0.1 or localhost with the trial's own port (a DNS-rebinding page sends its own)."""
    names = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if port == 80:
        names |= {"127.0.0.1", "localhost"}
    return host.lower() in names


class TrialGuard:
    """Only this machine's own page drives the trial: Host checked everywhere; the API takes
    JSON only (a form or text/plain post from another site gets 415), with this run's token
    (which only the page's own HTML carries) and the tab's id."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        server = scope.get("server")
        port = int(server[1]) if server and server[1] is not None else 80
        if not is_own_host(headers.get("host", ""), port):
            return PlainTextResponse("Invalid host header", status_code=400)
        if not str(scope["path"]).startswith("/api/"):
            return None
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] != "GET" and media_type != "application/json":
            return PlainTextResponse("Only application/json", status_code=415)
        if not secrets.compare_digest(headers.get(TOKEN_HEADER, ""), self.token):
            return PlainTextResponse("Missing or wrong trial token", status_code=403)
        if not _TAB.fullmatch(headers.get(TAB_HEADER, "")):
            return PlainTextResponse("Missing tab id", status_code=400)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = not str(scope["path"]).startswith("/review")

        async def send_with_headers(message: Message) -> None:
            if page and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers[name] = value
            await send(message)

        refused = self.refusal(scope)
        if refused is not None:
            await refused(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def create_page(trial: Trial, review_key: Path, *, token: str | None = None) -> TrialGuard:
    """The chat page, its small JSON API, and the review console under /review."""
    env = Environment(
        loader=PackageLoader("bot", "templates"), autoescape=select_autoescape(["html"])
    )
    sessionmaker = trial.application.services.sessionmaker
    token = token or secrets.token_urlsafe(32)

    async def page(request: Request) -> Response:
        lang = request.query_params.get("lang", "kk")
        lang = lang if lang in LOCALES else "kk"
        html = env.get_template("trial.html").render(
            lang=lang,
            languages=LOCALE_NAMES,
            t=lambda text: translate(lang, text),
            passphrase=DEMO_PASSPHRASE,
            token=token,
            rtl=lang == "kk_Arab",
        )
        return HTMLResponse(html)

    async def body(request: Request) -> tuple[int, dict[str, Any]]:
        """The tab's user and the JSON it sent (ValueError if it is not an object)."""
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return trial.user_of(request.headers[TAB_HEADER]), data

    async def messages(request: Request) -> Response:
        return JSONResponse(trial.messages(trial.user_of(request.headers[TAB_HEADER])))

    async def become(request: Request) -> Response:
        try:
            _user_id, data = await body(request)
        except ValueError:
            return JSONResponse({"error": "bad request"}, status_code=400)
        user_id = trial.become(request.headers[TAB_HEADER], str(data.get("as", "relative")))
        return JSONResponse(trial.messages(user_id))

    async def send(request: Request) -> Response:
        try:
            user_id, data = await body(request)
            user = trial.user(user_id, str(data.get("lang", "kk")))
            text = str(data.get("text", ""))[:4096]
        except (KeyError, ValueError, TypeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        async with trial.lock:
            if text.startswith("/") and len(text) > 1:
                command, _sep, args = text[1:].partition(" ")
                await user.send_command(command.split("@")[0], args)
            elif text.strip():
                await user.send_text(text)
        return JSONResponse(trial.messages(user_id))

    async def press(request: Request) -> Response:
        try:
            user_id, data = await body(request)
            user = trial.user(user_id, str(data.get("lang", "kk")))
            callback, message_id = str(data["data"]), int(data["message_id"])
        except (KeyError, ValueError, TypeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        async with trial.lock:
            await user.press(callback, message_id=message_id)
        return JSONResponse(trial.messages(user_id))

    async def upload(request: Request) -> Response:
        try:
            user_id, data = await body(request)
            user = trial.user(user_id, str(data.get("lang", "kk")))
            kind = str(data.get("kind", "document"))
            content = base64.b64decode(str(data["content"]), validate=True)
            name = str(data.get("name") or "file")
            mime = str(data.get("mime") or "application/octet-stream")
        except (KeyError, ValueError, TypeError, binascii.Error):
            return JSONResponse({"error": "bad request"}, status_code=400)
        if len(content) > MAX_UPLOAD:
            return JSONResponse({"error": "too large"}, status_code=413)
        async with trial.lock:
            if kind == "photo":
                await user.send_photo(content)
            elif kind == "voice":
                await user.send_voice(content)
            else:
                await user.send_document(content, file_name=name, mime_type=mime)
        return JSONResponse(trial.messages(user_id))

    site = Starlette(
        routes=[
            Route("/", page),
            Route("/api/messages", messages),
            Route("/api/become", become, methods=["POST"]),
            Route("/api/send", send, methods=["POST"]),
            Route("/api/press", press, methods=["POST"]),
            Route("/api/upload", upload, methods=["POST"]),
            Mount(
                "/review",
                app=create_console(
                    sessionmaker,
                    review_key,
                    # The trial runs the bot here, so it pins its own signing keys.
                    pins=Pins(
                        inbox_fingerprint=trial.application.services.delivery_keys.fingerprint,
                        intake_fingerprint=trial.application.services.cases.intake_fingerprint,
                        roster_key=trial.application.services.settings.roster_key,
                        team_keys=trial.application.services.settings.recipients,
                    ),
                ),
            ),
        ]
    )
    return TrialGuard(site, token)


async def serve(port: int, keep: Path | None, ready: asyncio.Event | None = None) -> None:
    """Run the trial until interrupted; the folder goes with it unless kept."""
    import uvicorn

    with trial_folder(keep) as folder:
        settings = prepare(folder)
        await db.upgrade(settings.database_url)
        api = LocalBotApi()
        application = build_application(settings, request=api, rate_limit=False)
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        await application.services.roles.grant("system", REVIEWER_ID, Role.REVIEWER)
        trial = Trial(application, api, folder)
        site = create_page(trial, folder / "demo-reviewer.key")
        server = uvicorn.Server(
            uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        if ready is not None:
            asyncio.get_running_loop().call_later(0.5, ready.set)
        try:
            await server.serve()
        finally:
            await application.stop()
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
