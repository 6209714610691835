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
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from bot import db
from bot.app import build_application
from bot.context import AigaqApplication
from bot.crypto import ServerKey, load_recipients
from bot.crypto.roster import write_roster
from bot.i18n import LOCALE_NAMES, LOCALES, translate
from bot.localapi import FakeUser, LocalBotApi
from bot.localapi.records import TEXT_LIMIT
from bot.models import Role
from bot.reviewing.console.app import create_app as create_console
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.pins import Pins
from bot.settings import Settings
from bot.trial_chat import MAX_PARTS, photo_of, split_typed, view
from bot.trial_guard import TAB_HEADER, TrialGuard

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
        """The tab's person, speaking the tab's Telegram language (`kk-Arab` for kk_Arab)."""
        code = (language if language in LOCALES else LOCALES[0]).replace("_", "-")
        user = self.users.get(user_id)
        if user is None:
            user = self.api.user(user_id=user_id, language_code=code, first_name="Trial")
            user.application = self.application
            self.users[user_id] = user
        elif user.language_code != code:
            # Her app's language changed: Telegram sends the new code with her next update.
            user.language_code = code
            self.api.people[user_id] = user.as_user()
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
        return [view(self.api, m) for m in self.api.chats.get(user_id, [])]

    def chat(self, user_id: int, toast: dict[str, Any] | None = None) -> JSONResponse:
        """What the page shows: her chat, and a button's answer as a toast if there is one."""
        return JSONResponse({"messages": self.messages(user_id), "toast": toast})


MAX_UPLOAD = 20 * 1024 * 1024  # what a bot may download from Telegram


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
            max_text=MAX_PARTS * TEXT_LIMIT,
        )
        return HTMLResponse(html)

    async def body(request: Request) -> tuple[int, dict[str, Any]]:
        """The tab's user and the JSON it sent (ValueError if it is not an object)."""
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return trial.user_of(request.headers[TAB_HEADER]), data

    async def messages(request: Request) -> Response:
        return trial.chat(trial.user_of(request.headers[TAB_HEADER]))

    async def photo(request: Request) -> Response:
        """A photo in the tab's own chat, for the page to show (fetched with the token)."""
        try:
            message_id = int(request.query_params["message"])
        except (KeyError, ValueError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        found = photo_of(trial.api, trial.user_of(request.headers[TAB_HEADER]), message_id)
        if found is None:
            return JSONResponse({"error": "no such photo"}, status_code=404)
        data, media_type = found
        return Response(data, media_type=media_type)

    async def become(request: Request) -> Response:
        try:
            _user_id, data = await body(request)
        except ValueError:
            return JSONResponse({"error": "bad request"}, status_code=400)
        user_id = trial.become(request.headers[TAB_HEADER], str(data.get("as", "relative")))
        return trial.chat(user_id)

    async def send(request: Request) -> Response:
        try:
            user_id, data = await body(request)
            user = trial.user(user_id, str(data.get("lang", "kk")))
            # A long text goes as several messages, as a Telegram app sends it.
            parts = split_typed(str(data.get("text", "")))
        except (KeyError, ValueError, TypeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        if len(parts) > MAX_PARTS:
            return JSONResponse({"error": "too long"}, status_code=413)
        async with trial.lock:
            for text in parts:
                if text.startswith("/") and len(text) > 1:
                    command, _sep, args = text[1:].partition(" ")
                    await user.send_command(command.split("@")[0], args)
                else:
                    await user.send_text(text)
        return trial.chat(user_id)

    async def press(request: Request) -> Response:
        try:
            user_id, data = await body(request)
            user = trial.user(user_id, str(data.get("lang", "kk")))
            callback, message_id = str(data["data"]), int(data["message_id"])
        except (KeyError, ValueError, TypeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        async with trial.lock:
            answer = await user.press(callback, message_id=message_id)
        # answerCallbackQuery's text is what a Telegram app shows over the chat for a moment.
        text = str((answer or {}).get("text") or "")
        alert = bool(answer and answer.get("show_alert"))
        return trial.chat(user_id, {"text": text, "alert": alert} if text else None)

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
        return trial.chat(user_id)

    site = Starlette(
        routes=[
            Route("/", page),
            Route("/api/messages", messages),
            Route("/api/photo", photo),
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
