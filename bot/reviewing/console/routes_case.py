"""One case in the console: read it, compare it with a possible duplicate, decide, ask her."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.case import describe
from bot.choices import DOC_TYPES
from bot.crypto import CryptoError
from bot.i18n import N_, translate
from bot.models import CaseStatus
from bot.reviewing.cases import GRADES, Reviewer, ReviewError
from bot.reviewing.console.pages import Console, to
from bot.reviewing.requests import PENDING, WRITTEN
from bot.reviewing.un import ELEMENT_LABELS
from bot.services.intake import STEPS

# What she reads when the bot has yet to apply her request (bot/reviewing/requests.py).
WAITING = {
    PENDING: N_(
        "Handed to the bot: it applies your request when it next runs, and the case shows it then."
    ),
    WRITTEN: N_(
        "Written to your requests file: the operator applies it on the server with `aigaq "
        "apply FILE`."
    ),
}
DECISIONS = (CaseStatus.IN_REVIEW, CaseStatus.VERIFIED, CaseStatus.NEEDS_INFO, CaseStatus.REJECTED)


def labelled(lang: str, step: str, value: Any) -> str:
    """An answer for the reviewer: case.describe, and her own words beside a date."""
    if value is None:
        return "—"
    if isinstance(value, dict) and "voice" in value:
        return ""  # the page plays the recording
    shown = describe(step, value, lang)
    words = value.get("text") if isinstance(value, dict) and "precision" in value else None
    return f"{shown} («{words}»)" if words and words != shown else shown


def case_routes(console: Console) -> list[Route]:
    """The routes about one case."""

    async def case_view(request: Request) -> Response:
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            return RedirectResponse(to(request, "/"), status_code=303)
        code = request.path_params["code"]
        try:
            opened = await reviewer.show(code)
        except (ReviewError, CryptoError) as exc:
            return console.message(request, str(exc))
        lang = console.lang(request)
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
        return console.page(
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
            doc_types=dict(DOC_TYPES),
            decisions=[d.value for d in DECISIONS],
            grades=GRADES,
            duplicates=[b if a == opened.code else a for a, b in pairs],
        )

    async def compare(request: Request) -> Response:
        """Two possible duplicates side by side, each in its own words."""
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            return RedirectResponse(to(request, "/"), status_code=303)
        lang = console.lang(request)
        try:
            first = await reviewer.show(request.path_params["first"])
            second = await reviewer.show(request.path_params["second"])
        except (ReviewError, CryptoError) as exc:
            return console.message(request, str(exc))
        return console.page(
            request,
            "compare.html",
            cases=[first, second],
            steps=STEPS,
            label=lambda s, v: labelled(lang, s, v),
        )

    async def case_form(
        request: Request, act: Callable[[Reviewer, str, dict[str, str]], Awaitable[object]]
    ) -> Response:
        """A form about one case: check the session and the form, act, show the case."""
        reviewer = console.reviewer_for(request)
        if reviewer is None:
            return Response(status_code=403)
        code = request.path_params["code"]
        try:
            state = await act(reviewer, code, await console.form(request))
        except (ReviewError, ValueError, PermissionError) as exc:
            return console.message(request, str(exc))
        if state in (PENDING, WRITTEN):
            return console.message(request, translate(console.lang(request), WAITING[str(state)]))
        return RedirectResponse(to(request, f"/case/{code}"), status_code=303)

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
            lambda reviewer, code, values: reviewer.followups.ask(
                code, values.get("question", ""), person=_person(values)
            ),
        )

    async def confirm(request: Request) -> Response:
        """What a reviewer confirms her answer gives: one checkbox per element, and the
        person for a question asked before questions named one."""
        return await case_form(
            request,
            lambda reviewer, code, values: reviewer.followups.confirm(
                code,
                values.get("followup", ""),
                tuple(name for name in ELEMENT_LABELS if values.get(f"element_{name}")),
                person=_person(values),
            ),
        )

    async def ask_missing(request: Request) -> Response:
        async def act(reviewer: Reviewer, code: str, values: dict[str, str]) -> object:
            reviewer.requests.last_state = None
            await reviewer.followups.ask_missing(code, int(values.get("person", "1") or 1))
            return reviewer.requests.last_state

        return await case_form(request, act)

    async def link(request: Request) -> Response:
        return await case_form(
            request,
            lambda reviewer, code, values: reviewer.decisions.link(
                code, values.get("original", "")
            ),
        )

    return [
        Route("/case/{code}", case_view),
        Route("/case/{code}/status", decide, methods=["POST"]),
        Route("/case/{code}/link", link, methods=["POST"]),
        Route("/case/{code}/ask", ask, methods=["POST"]),
        Route("/case/{code}/confirm", confirm, methods=["POST"]),
        Route("/case/{code}/ask-missing", ask_missing, methods=["POST"]),
        Route("/compare/{first}/{second}", compare),
    ]


def _person(values: dict[str, str]) -> int | None:
    """The person a form names (1-based), or None for the whole case."""
    given = values.get("person", "").strip()
    return int(given) if given else None
