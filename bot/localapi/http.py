"""bot/localapi's fake Bot API served over HTTP, and a bot process polling it.

What tests and benchmarks use to meet Aigaq the way Telegram does: the real `aigaq run`
process, long polling a stand-in on 127.0.0.1 (one LocalBotApi per bot token), and users
whose every update returns once the bot answered and went quiet.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import InputFile
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.localapi.api import LocalBotApi
from bot.localapi.user import FakeUser

QUIET = 0.04  # s without a call for her chat after the bot's answer: her update is handled
SETTLE = 0.5  # s of quiet that ends a drive
PATIENCE = 20.0  # s to wait for an answer before counting a stall
STRING_PARAMETERS = frozenset(
    {"text", "caption", "callback_query_id", "file_id", "parse_mode", "url", "secret_token"}
)
REPLIES = ("send", "edit", "answer", "delete", "copy", "forward")


@dataclass
class ChatActivity:
    inflight: int = 0
    replies: int = 0
    last: float = 0.0


def _decode(name: str, value: str) -> Any:
    """A form value as PTB encoded it (json.dumps for anything but a string)."""
    if name in STRING_PARAMETERS:
        return value
    if value[:1] in ("{", "[") or value in ("true", "false"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class StandIn:
    """bot/localapi's LocalBotApi behind HTTP, one per bot token; watches who is answered."""

    def __init__(self) -> None:
        self.apis: dict[str, LocalBotApi] = {}
        self.activity: dict[int, ChatActivity] = defaultdict(ChatActivity)
        self.busy = 0  # getFile calls and downloads in flight (they carry no chat id)
        self.query_chats: dict[str, int] = {}
        self.pushed = 0
        self.stalls = 0
        self.port = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def add_bot(self, token: str) -> LocalBotApi:
        self.apis[token] = LocalBotApi()
        return self.apis[token]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn sets a flag, no event
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/file/bot"):
            token = path.removeprefix("/file/bot").split("/", 1)[0]
            api = self.apis.get(token)
            if api is None:
                return Response(status_code=404)
            self.busy += 1
            try:
                status, body = await api.do_request(str(request.url), "GET")
            finally:
                self.busy -= 1
            return Response(body, status_code=status)
        token, _, method = path.removeprefix("/bot").partition("/")
        api = self.apis.get(token)
        if api is None:
            return Response(b'{"ok":false,"error_code":401,"description":"Unauthorized"}', 401)
        parameters = []
        async with request.form(max_part_size=64 * 1024 * 1024) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    upload = InputFile(data, filename=value.filename)
                    parameters.append(RequestParameter(name, None, input_files=[upload]))
                else:
                    parameters.append(RequestParameter(name, _decode(name, value), None))
        request_data = RequestData(parameters)
        chat = self._chat_of(method, request_data.parameters)
        activity = self.activity[chat] if chat is not None else None
        files = method == "getFile"
        if activity is not None:
            activity.inflight += 1
        self.busy += files
        try:
            status, body = await api.do_request(str(request.url), "POST", request_data)
        finally:
            self.busy -= files
            if activity is not None:
                activity.inflight -= 1
                activity.last = time.monotonic()
                if method.startswith(REPLIES):
                    activity.replies += 1
        return Response(body, status_code=status, media_type="application/json")

    def _chat_of(self, method: str, parameters: dict[str, Any]) -> int | None:
        if method == "answerCallbackQuery":
            return self.query_chats.get(str(parameters.get("callback_query_id")))
        try:
            return int(parameters["chat_id"])
        except (KeyError, TypeError, ValueError):
            return None

    async def wait_answered(self, chat: int, replies_before: int) -> None:
        """Until the bot answered her chat and then made no call for it for QUIET seconds."""
        activity = self.activity[chat]
        deadline = time.monotonic() + PATIENCE
        while True:
            now = time.monotonic()
            if (
                activity.replies > replies_before
                and activity.inflight == 0
                and self.busy == 0
                and now - activity.last >= QUIET
            ):
                return
            if now > deadline:
                self.stalls += 1
                return
            await asyncio.sleep(0.005)

    async def settle(self) -> None:
        """Until no chat saw a call for SETTLE seconds (and nothing is in flight)."""
        while True:
            now = time.monotonic()
            last = max((a.last for a in self.activity.values()), default=0.0)
            busy = self.busy or any(a.inflight for a in self.activity.values())
            if not busy and now - last >= SETTLE:
                return
            await asyncio.sleep(0.05)


@dataclass
class HttpUser(FakeUser):
    """A FakeUser whose updates go out through getUpdates; each action returns once the bot
    answered. `forge_presses`: press buttons the bot never showed (for the echo bot)."""

    standin: StandIn | None = None
    forge_presses: bool = False

    async def _deliver(self, update: dict[str, Any], *, via_polling: bool = False) -> None:
        if self.standin is None:
            raise RuntimeError("an HttpUser needs the stand-in it talks through")
        if "callback_query" in update:
            self.standin.query_chats[update["callback_query"]["id"]] = self.chat_id
        before = self.standin.activity[self.chat_id].replies
        self.api.push_update(update)
        self.standin.pushed += 1
        await self.standin.wait_answered(self.chat_id, before)

    async def press(
        self, data: str, message_id: int | None = None, *, via_polling: bool = False
    ) -> dict[str, Any] | None:
        if self.forge_presses:
            mine = self.messages
            return await super().press(data, mine[-1].message_id if mine else 1)
        deadline = time.monotonic() + PATIENCE
        while not any(data == d for m in self.messages for _t, d in m.buttons()):
            if time.monotonic() > deadline:
                break  # FakeUser.press says which button was missing
            await asyncio.sleep(0.005)
        return await super().press(data, message_id)


def make_user(standin: StandIn, api: LocalBotApi, user_id: int, *, forge: bool) -> HttpUser:
    user = HttpUser(
        api=api, user_id=user_id, language_code="kk", standin=standin, forge_presses=forge
    )
    api.people[user_id] = user.as_user()
    api.chat_info[user_id] = {"id": user_id, "type": "private", "first_name": user.first_name}
    return user


class BotProcess:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.log_path = folder / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
                argv, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait_polling(self, api: LocalBotApi, patience: float = 90.0) -> None:
        deadline = time.monotonic() + patience
        while not any(call.method == "getUpdates" for call in api.log):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} did not start polling:\n{tail}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            for _ in range(300):
                if self.process.poll() is not None:
                    return
                await asyncio.sleep(0.05)
            self.process.kill()
            self.process.wait()


def clean_env() -> dict[str, str]:
    """This environment without proxies or AIGAQ_ settings: nothing but 127.0.0.1 is reached."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and not key.startswith("AIGAQ_")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
