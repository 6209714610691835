"""A small Starlette app: unlock with the key's passphrase, read, decide, export. No JS build.

Bound to 127.0.0.1 by the command that serves it, and guarded (`console.guard`) against
other host names, cross-origin posts and anything a page could run. The unlocked key lives in
this process's memory only and is dropped after the idle time; attachments are decrypted chunk
by chunk and streamed to the browser, never written to disk.
"""

from __future__ import annotations

import hmac
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.case import describe
from bot.crypto import CryptoError
from bot.i18n import LOCALE_NAMES, LOCALES, translate
from bot.models import CaseStatus
from bot.reviewing.bundle import ExportError
from bot.reviewing.cases import GRADES, Reviewer, ReviewError
from bot.reviewing.console.guard import ConsoleGuard
from bot.reviewing.console.media import media_type
from bot.reviewing.export import export
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.pins import Pins
from bot.reviewing.un import ELEMENT_LABELS, write_draft
from bot.services import audit
from bot.services.intake import STEPS

COOKIE = "aigaq_console"
DECISIONS = (CaseStatus.IN_REVIEW, CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)


def _to(request: Request, path: str) -> str:
    """A path inside the console, wherever it is mounted."""
    return str(request.scope.get("root_path", "")) + path


@dataclass
class ConsoleState:
    key_path: Path
    idle_seconds: float
    reviewer: Reviewer | None = None
    token: str = ""
    last_seen: float = 0.0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def create_app(
    sessionmaker: async_sessionmaker[AsyncSession],
    key_path: Path,
    *,
    idle_minutes: float = 15,
    pins: Pins | None = None,
) -> ConsoleGuard:
    """The console, locked until the key's passphrase is given; her tools are made with
    `pins` (bot/reviewing/pins.py): notes and questions sealed only to the signed roster's
    reviewers, questions and notices to her only to a delivery key the pinned signing key
    certified, a case's manifest checked against the intake key pinned."""
    state = ConsoleState(key_path=key_path, idle_seconds=idle_minutes * 60)
    env = Environment(
        loader=PackageLoader("bot.reviewing.console", "templates"),
        autoescape=select_autoescape(["html"]),
    )

    def page(request: Request, name: str, **values: Any) -> HTMLResponse:
        lang = request.query_params.get("lang") or request.cookies.get("lang") or "en"
        lang = lang if lang in LOCALES else "en"
        values.update(
            root=request.scope.get("root_path", ""),
            lang=lang,
            languages=LOCALE_NAMES,
            t=lambda text: translate(lang, text),
            csrf=state.csrf,
            unlocked=state.reviewer is not None,
        )
        response = HTMLResponse(env.get_template(name).render(**values))
        response.set_cookie("lang", lang, httponly=True, samesite="strict")
        return response

    def reviewer_for(request: Request) -> Reviewer | None:
        """The unlocked reviewer, if this browser unlocked it and it has not gone idle."""
        if state.reviewer is None:
            return None
        if time.monotonic() - state.last_seen > state.idle_seconds:
            state.reviewer, state.token = None, ""
            return None
        if not hmac.compare_digest(request.cookies.get(COOKIE, ""), state.token):
            return None
        state.last_seen = time.monotonic()
        return state.reviewer

    async def form(request: Request) -> dict[str, str]:
        data = await request.form()
        values = {k: str(v) for k, v in data.items()}
        if not hmac.compare_digest(values.get("csrf", ""), state.csrf):
            raise PermissionError("stale form")
        return values

    async def index(request: Request) -> Response:
        reviewer = reviewer_for(request)
        if reviewer is None:
            return page(request, "unlock.html", error=request.query_params.get("error"))
        status = request.query_params.get("status") or None
        query = (request.query_params.get("q") or "").strip()
        wanted = CaseStatus(status) if status in {s.value for s in CaseStatus} else None
        try:
            items = await reviewer.queue(wanted)
        except ReviewError as exc:  # her duplicate index is another key's, or was altered
            return page(request, "message.html", message=str(exc))
        if request.query_params.get("wgeid") == "1":
            ready = await reviewer.followups.ready_for_wgeid()
            items = [item for item in items if item.code in ready]
        if query:
            found = set(await reviewer.duplicates.search(query))
            items = [item for item in items if item.code in found]
        return page(
            request,
            "queue.html",
            items=items,
            status=status or "",
            q=query,
            statuses=[s.value for s in CaseStatus],
        )

    async def unlock(request: Request) -> Response:
        try:
            values = await form(request)
            key = ReviewerKey.load(state.key_path, values.get("passphrase", ""))
        except (CryptoError, PermissionError):
            return RedirectResponse(_to(request, "/?error=1"), status_code=303)
        state.reviewer = (pins or Pins()).tools(sessionmaker, key, state.key_path)
        state.token = secrets.token_urlsafe(32)
        state.last_seen = time.monotonic()
        response = RedirectResponse(_to(request, "/"), status_code=303)
        response.set_cookie(COOKIE, state.token, httponly=True, samesite="strict")
        return response

    async def lock(request: Request) -> Response:
        try:
            await form(request)
        except PermissionError as exc:
            refused = page(request, "message.html", message=str(exc))
            refused.status_code = 403
            return refused
        state.reviewer, state.token = None, ""
        return RedirectResponse(_to(request, "/"), status_code=303)

    def labelled(lang: str, step: str, value: Any) -> str:
        """An answer for the reviewer: case.describe, and her own words beside a date."""
        if value is None:
            return "—"
        if isinstance(value, dict) and "voice" in value:
            return ""  # the page plays the recording
        shown = describe(step, value, lang)
        words = value.get("text") if isinstance(value, dict) and "precision" in value else None
        return f"{shown} («{words}»)" if words and words != shown else shown

    async def case_view(request: Request) -> Response:
        reviewer = reviewer_for(request)
        if reviewer is None:
            return RedirectResponse(_to(request, "/"), status_code=303)
        code = request.path_params["code"]
        try:
            opened = await reviewer.show(code)
        except (ReviewError, CryptoError) as exc:
            return page(request, "message.html", message=str(exc))
        lang = request.query_params.get("lang") or request.cookies.get("lang") or "en"
        kinds = {a["uid"]: a.get("kind") for a in opened.payload.get("attachments", [])}
        pairs = [(a, b) for a, b, _why in await reviewer.duplicates.find() if opened.code in (a, b)]
        followups = await reviewer.followups.of(opened.code)
        written = {
            answer["uid"]: (await reviewer.attachment(answer["uid"]).read()).decode(
                "utf-8", "replace"
            )
            for item in followups
            for answer in item["answers"]
            if answer["kind"] == "text"
        }
        wgeid, _answers = await reviewer.followups.readiness(opened.code)
        return page(
            request,
            "case.html",
            case=opened,
            followups=followups,
            written=written,
            wgeid=wgeid,
            element_labels=ELEMENT_LABELS,
            steps=STEPS,
            label=lambda s, v: labelled(lang, s, v),
            kinds=kinds,
            decisions=[d.value for d in DECISIONS],
            grades=GRADES,
            duplicates=[b if a == opened.code else a for a, b in pairs],
        )

    async def compare(request: Request) -> Response:
        """Two possible duplicates side by side, each in its own words."""
        reviewer = reviewer_for(request)
        if reviewer is None:
            return RedirectResponse(_to(request, "/"), status_code=303)
        lang = request.query_params.get("lang") or request.cookies.get("lang") or "en"
        try:
            first = await reviewer.show(request.path_params["first"])
            second = await reviewer.show(request.path_params["second"])
        except (ReviewError, CryptoError) as exc:
            return page(request, "message.html", message=str(exc))
        return page(
            request,
            "compare.html",
            cases=[first, second],
            steps=STEPS,
            label=lambda s, v: labelled(lang, s, v),
        )

    async def attachment(request: Request) -> Response:
        reviewer = reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        reader = reviewer.attachment(request.path_params["uid"])
        try:
            meta = await reader.meta()
            record = await reader.record()
            stream = reader.stream()
            first = await anext(stream)
        except (ReviewError, CryptoError):
            return Response(status_code=404)

        async def body() -> Any:
            yield first
            async for part in stream:
                yield part

        return StreamingResponse(
            body(),
            media_type=media_type(first, meta.kind),
            headers={"Cache-Control": "no-store", "Content-Length": str(record.size)},
        )

    async def case_form(
        request: Request, act: Callable[[Reviewer, str, dict[str, str]], Awaitable[None]]
    ) -> Response:
        """A form about one case: check the session and the form, act, show the case."""
        reviewer = reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        code = request.path_params["code"]
        try:
            await act(reviewer, code, await form(request))
        except (ReviewError, ValueError, PermissionError) as exc:
            return page(request, "message.html", message=str(exc))
        return RedirectResponse(_to(request, f"/case/{code}"), status_code=303)

    async def decide(request: Request) -> Response:
        return await case_form(
            request,
            lambda reviewer, code, values: reviewer.decisions.set_status(
                code,
                CaseStatus(values.get("status", "")),
                grade=values.get("grade") or None,
                note=values.get("note", "").strip(),
            ),
        )

    async def ask(request: Request) -> Response:
        return await case_form(
            request,
            lambda reviewer, code, values: reviewer.followups.ask(code, values.get("question", "")),
        )

    async def ask_missing(request: Request) -> Response:
        async def act(reviewer: Reviewer, code: str, values: dict[str, str]) -> None:
            await reviewer.followups.ask_missing(code, int(values.get("person", "1") or 1))

        return await case_form(request, act)

    async def draft(request: Request) -> Response:
        """The UN Working Group draft (.odt) for one person, made here, nothing sent."""
        reviewer = reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        code = request.path_params["code"]
        person = int(request.query_params.get("person", "1") or 1)
        folder = Path(tempfile.mkdtemp(prefix="aigaq-wgeid-"))
        target = folder / f"wgeid-{code}-{person}.odt"
        try:
            opened = await reviewer.show(code)
            received = datetime.fromisoformat(str(opened.payload.get("submitted_at")))
            _items, answers = await reviewer.followups.readiness(code)
            write_draft(
                target,
                opened.payload,
                person,
                code=opened.code,
                summary="",
                received=received,
                answers=answers,
            )
        except (ReviewError, PermissionError, ValueError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return page(request, "message.html", message=str(exc))
        async with sessionmaker() as session, session.begin():
            await audit.record(
                session,
                actor=reviewer.key.key_id,
                action="wgeid.draft",
                target=opened.code,
                detail={"person": person},
            )
        return FileResponse(
            target, filename=target.name, background=BackgroundTask(shutil.rmtree, folder, True)
        )

    async def link(request: Request) -> Response:
        return await case_form(
            request,
            lambda reviewer, code, values: reviewer.decisions.link(
                code, values.get("original", "")
            ),
        )

    async def download(request: Request) -> Response:
        reviewer = reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        fmt = request.query_params.get("format", "csv")
        folder = Path(tempfile.mkdtemp(prefix="aigaq-export-"))
        name = {"csv": "cases.csv", "jsonl": "cases.jsonl", "bundle": "evidence.zip"}.get(fmt)
        if name is None:
            return Response(status_code=400)
        target = folder / name
        try:
            await export(
                reviewer, target, fmt, internal=request.query_params.get("internal") == "1"
            )
        except ExportError as exc:
            return page(request, "message.html", message=str(exc))

        def cleanup() -> None:
            target.unlink(missing_ok=True)
            folder.rmdir()

        return FileResponse(target, filename=name, background=BackgroundTask(cleanup))

    routes = [
        Route("/", index),
        Route("/unlock", unlock, methods=["POST"]),
        Route("/lock", lock, methods=["POST"]),
        Route("/case/{code}", case_view),
        Route("/case/{code}/status", decide, methods=["POST"]),
        Route("/case/{code}/link", link, methods=["POST"]),
        Route("/case/{code}/ask", ask, methods=["POST"]),
        Route("/case/{code}/ask-missing", ask_missing, methods=["POST"]),
        Route("/case/{code}/wgeid", draft),
        Route("/file/{uid}", attachment),
        Route("/compare/{first}/{second}", compare),
        Route("/export", download),
        Mount("/static", StaticFiles(packages=[("bot.reviewing.console", "static")])),
    ]
    return ConsoleGuard(Starlette(routes=routes))
