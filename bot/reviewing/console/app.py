"""A small Starlette app: unlock with the key's passphrase, read, decide, export. No JS build.

Bound to 127.0.0.1 by the command that serves it, and guarded (`console.guard`) against
other host names, cross-origin posts and anything a page could run. Each browser has its own
session and form token (`console.session`); the unlocked key lives in this process's memory
only, and a timer drops it after the idle time. Attachments are decrypted chunk by chunk and
streamed to the browser, never written to disk; exports and drafts live in a temporary folder
only while they are sent (`console.routes_files`).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.crypto import CryptoError
from bot.i18n import LOCALES, N_, translate
from bot.models import CaseStatus
from bot.reviewing.cases import ReviewError
from bot.reviewing.console.guard import ConsoleGuard
from bot.reviewing.console.media import media_type
from bot.reviewing.console.pages import COOKIE, Console, set_session_cookie, to
from bot.reviewing.console.routes_case import case_routes
from bot.reviewing.console.routes_files import file_routes
from bot.reviewing.console.session import Clock, ConsoleState, awake_or_asleep
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.pins import Pins

__all__ = ["COOKIE", "create_app", "media_type"]

SLOWED = N_("Too many wrong passphrases. Try again in {seconds} seconds.")


def create_app(
    sessionmaker: async_sessionmaker[AsyncSession],
    key_path: Path,
    *,
    idle_minutes: float = 15,
    pins: Pins | None = None,
    clock: Clock = awake_or_asleep,
) -> ConsoleGuard:
    """The console, locked until the key's passphrase is given; her tools are made with
    `pins` (bot/reviewing/pins.py): notes and questions sealed only to the signed roster's
    reviewers, questions and notices to her only to a delivery key the pinned signing key
    certified, a case's manifest checked against the intake key pinned."""
    state = ConsoleState(key_path, idle_seconds=idle_minutes * 60, clock=clock)
    unlocking = asyncio.Lock()
    console = Console.make(sessionmaker, state, pins or Pins())

    async def queue(request: Request, status: str, query: str, wgeid: bool) -> Response:
        """The queue, filtered; a name searched for only ever arrives in a POST body."""
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            error = request.query_params.get("error") if request.method == "GET" else None
            return console.page(request, "unlock.html", error=error)
        wanted = CaseStatus(status) if status in {s.value for s in CaseStatus} else None
        try:
            items = await reviewer.queue(wanted)
        except ReviewError as exc:  # her duplicate index is another key's, or was altered
            return console.message(request, str(exc))
        if wgeid:
            ready = await reviewer.followups.ready_for_wgeid()
            items = [item for item in items if item.code in ready]
        if query:
            found = set(await reviewer.duplicates.search(query))
            items = [item for item in items if item.code in found]
        return console.page(
            request,
            "queue.html",
            items=items,
            status=status,
            q=query,
            wgeid=wgeid,
            statuses=[s.value for s in CaseStatus],
        )

    async def index(request: Request) -> Response:
        params = request.query_params
        return await queue(request, params.get("status") or "", "", params.get("wgeid") == "1")

    async def search(request: Request) -> Response:
        if request.method == "GET":  # a language link on a search's page: the queue in it
            lang = request.query_params.get("lang")
            return RedirectResponse(to(request, f"/?lang={lang}" if lang in LOCALES else "/"), 303)
        if console.reviewer_for(request) is None:
            return RedirectResponse(to(request, "/"), status_code=303)
        try:
            values = await console.form(request)
        except PermissionError as exc:
            return console.message(request, str(exc), status_code=403)
        query = values.get("q", "").strip()
        return await queue(request, values.get("status", ""), query, values.get("wgeid") == "1")

    async def unlock(request: Request) -> Response:
        # One attempt at a time: the wait is checked and the failure counted in the same
        # turn, so parallel requests cannot try more passphrases than the limit allows.
        async with unlocking:
            return await attempt_unlock(request)

    async def attempt_unlock(request: Request) -> Response:
        wait = state.attempts.wait()
        if wait > 0:  # refused before the passphrase is even looked at
            seconds = math.ceil(wait)
            slowed = console.message(
                request,
                translate(console.lang(request), SLOWED).format(seconds=seconds),
                status_code=429,
            )
            slowed.headers["Retry-After"] = str(seconds)
            return slowed
        try:
            values = await console.form(request)
        except PermissionError:
            return RedirectResponse(to(request, "/?error=1"), status_code=303)
        try:
            key = await asyncio.to_thread(
                ReviewerKey.load, state.key_path, values.get("passphrase", "")
            )
        except CryptoError:
            state.attempts.failed()
            return RedirectResponse(to(request, "/?error=1"), status_code=303)
        reviewer = console.pins.tools(sessionmaker, key, state.key_path)
        sid = state.unlock(request.cookies.get(COOKIE, ""), reviewer)
        response = RedirectResponse(to(request, "/"), status_code=303)
        set_session_cookie(response, sid)
        return response

    async def lock(request: Request) -> Response:
        try:
            await console.form(request)
        except PermissionError as exc:
            return console.message(request, str(exc), status_code=403)
        state.lock()
        return RedirectResponse(to(request, "/"), status_code=303)

    routes = [
        Route("/", index),
        Route("/search", search, methods=["GET", "POST"]),
        Route("/unlock", unlock, methods=["POST"]),
        Route("/lock", lock, methods=["POST"]),
        *case_routes(console),
        *file_routes(console),
        Mount("/static", StaticFiles(packages=[("bot.reviewing.console", "static")])),
    ]
    app = Starlette(routes=routes, lifespan=state.lifespan)
    app.state.console = state  # for tests: what the console holds in memory
    return ConsoleGuard(app)
