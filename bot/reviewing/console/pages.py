"""What every console route shares: its templates, the browser's session, the form check."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.i18n import LOCALE_NAMES, LOCALES, translate
from bot.reviewing.cases import Reviewer
from bot.reviewing.console.labels import labeller
from bot.reviewing.console.session import ConsoleState
from bot.reviewing.pins import Pins

COOKIE = "aigaq_console"
RIGHT_TO_LEFT = frozenset({"kk_Arab"})  # Arabic-script Kazakh reads right to left


class StaleForm(PermissionError):
    """A form without this session's token: another session's, an old one, or forged."""

    def __init__(self) -> None:
        super().__init__("stale form")


def to(request: Request, path: str) -> str:
    """A path inside the console, wherever it is mounted."""
    return str(request.scope.get("root_path", "")) + path


def set_session_cookie(response: Response, sid: str) -> None:
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict")


@dataclass
class Console:
    """The console's parts that its routes use."""

    sessionmaker: async_sessionmaker[AsyncSession]
    state: ConsoleState
    pins: Pins
    env: Environment

    @classmethod
    def make(
        cls, sessionmaker: async_sessionmaker[AsyncSession], state: ConsoleState, pins: Pins
    ) -> Console:
        env = Environment(
            loader=PackageLoader("bot.reviewing.console", "templates"),
            autoescape=select_autoescape(["html"]),
        )
        return cls(sessionmaker, state, pins, env)

    @staticmethod
    def lang(request: Request) -> str:
        lang = request.query_params.get("lang") or request.cookies.get("lang") or "en"
        return lang if lang in LOCALES else "en"

    def page(
        self, request: Request, name: str, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        """A page in her language, with this browser's form token (a new session if none)."""
        lang = self.lang(request)
        new_sid = None
        session = self.state.session(request.cookies.get(COOKIE))
        if session is None:
            new_sid, session = self.state.new_session()
        values.update(
            root=request.scope.get("root_path", ""),
            lang=lang,
            languages=LOCALE_NAMES,
            t=lambda text: translate(lang, text),
            # Every stored value shown as a word of the console's language (labels.py).
            word=labeller(lang),
            rtl=lang in RIGHT_TO_LEFT,
            csrf=session.csrf,
            unlocked=self.state.reviewer is not None and session.unlocked,
        )
        response = HTMLResponse(
            self.env.get_template(name).render(**values), status_code=status_code
        )
        response.set_cookie("lang", lang, httponly=True, samesite="strict")
        if new_sid is not None:
            set_session_cookie(response, new_sid)
        return response

    def message(self, request: Request, text: str, status_code: int = 200) -> HTMLResponse:
        return self.page(request, "message.html", status_code=status_code, message=text)

    def reviewer_for(self, request: Request) -> Reviewer | None:
        """The unlocked reviewer, if this browser unlocked it and it has not gone idle."""
        return self.state.reviewer_for(request.cookies.get(COOKIE))

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, if it carries this session's token."""
        data = await request.form()
        values = {k: str(v) for k, v in data.items()}
        session = self.state.session(request.cookies.get(COOKIE))
        if session is None or not hmac.compare_digest(values.get("csrf", ""), session.csrf):
            raise StaleForm
        return values
