"""Commands for reviewers, on their own machine: read, decide, follow up, link duplicates."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bot import db
from bot.choices import DOC_TYPES
from bot.cli.shell import Backend, case_status, fail, run, settings_or_exit
from bot.cli.unlock import KeyOption, PassOption, open_reviewer
from bot.models import CaseStatus
from bot.reviewing.assignments import assign
from bot.reviewing.cases import GRADES, OpenedCase, QueueItem, Reviewer, ReviewError
from bot.reviewing.requests import WAITING
from bot.reviewing.un import Readiness


def review_list(
    key: KeyOption,
    status: Annotated[str | None, typer.Option(help="received, in_review, verified, …")] = None,
    wgeid: Annotated[bool, typer.Option("--wgeid", help="Only cases ready for the UN.")] = False,
    passphrase_file: PassOption = None,
) -> None:
    """The queue: code, date, language, people, files, status, grade, flags, names (opened
    on this machine from her own index)."""
    wanted = case_status(status) if status else None
    items = run(lambda backend: _queue(open_reviewer(backend, key, passphrase_file), wanted, wgeid))
    for item in items:
        flag = ("  URGENT" if item.urgent else "") + ("  duplicate?" if item.duplicate else "")
        typer.echo(
            f"{item.code}  {item.created_at:%Y-%m-%d}  {item.locale}  "
            f"people={item.detainees} files={item.attachments}  "
            f"{item.status.value:<10} {item.grade}{flag}  {' / '.join(item.names)}"
        )


async def _queue(reviewer: Reviewer, wanted: CaseStatus | None, wgeid: bool) -> list[QueueItem]:
    items = await reviewer.queue(wanted)
    if wgeid:
        ready = await reviewer.followups.ready_for_wgeid()
        items = [item for item in items if item.code in ready]
    return items


def review_show(code: str, key: KeyOption, passphrase_file: PassOption = None) -> None:
    """A case in the testimony's own words (JSON), with the team's notes."""
    case, wgeid, questions = run(
        lambda backend: _show(open_reviewer(backend, key, passphrase_file), code),
        errors=(ReviewError,),
    )
    typer.echo(
        json.dumps(
            {
                "code": case.code,
                "status": case.status.value,
                "grade": case.grade,
                "duplicate_of": case.duplicate_of,
                "case": case.payload,
                "notes": case.notes,
                # Decisions, questions and her answers (new information), by date; and
                # whether a verification was taken back by a question with no decision since.
                "history": case.events,
                "verified_before": case.verified_before,
                # Each question (its uid, for `review confirm`), her answers' files, and
                # which elements a reviewer confirmed they give.
                "followups": questions,
                "wgeid": [
                    {"person": r.person, "ready": r.ready, "elements": r.elements} for r in wgeid
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
    )


async def _show(
    reviewer: Reviewer, code: str
) -> tuple[OpenedCase, list[Readiness], list[dict[str, Any]]]:
    opened = await reviewer.show(code)
    items, _answers = await reviewer.followups.readiness(code)
    return opened, items, await reviewer.followups.of(code)


def review_set(
    code: str,
    status: Annotated[str, typer.Argument(help="in_review, verified, needs_info, rejected")],
    key: KeyOption,
    grade: Annotated[str | None, typer.Option(help=", ".join(GRADES))] = None,
    note: Annotated[str, typer.Option(help="What backs the decision (sealed).")] = "",
    passphrase_file: PassOption = None,
) -> None:
    """Decide a case; the relative is told if she agreed to contact."""
    wanted = case_status(status)
    state = run(
        lambda backend: open_reviewer(backend, key, passphrase_file).decisions.set_status(
            code, wanted, grade=grade, note=note
        ),
        errors=(ReviewError,),
    )
    typer.echo(WAITING.get(state, f"{code.upper()}: {wanted.value}"))


def review_serve(
    key: KeyOption,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    idle_minutes: Annotated[float, typer.Option(help="Lock again after this long idle.")] = 15,
) -> None:
    """The review console in your browser, on this computer only (127.0.0.1)."""
    import uvicorn

    from bot.reviewing.console.app import create_app
    from bot.reviewing.pins import Pins

    if not key.exists():
        fail(f"the key file {key} does not exist")
    settings = settings_or_exit()
    engine = db.create_engine(settings.database_url)
    console = create_app(
        db.make_sessionmaker(engine),
        key,
        idle_minutes=idle_minutes,
        pins=Pins.of(settings),
    )
    typer.echo(f"open http://127.0.0.1:{port}/ and unlock with your passphrase (Ctrl+C stops)")
    uvicorn.run(console, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def review_ask(
    code: str,
    question: str,
    key: KeyOption,
    person: Annotated[
        int | None, typer.Option(help="Which detained person it is about (1, 2, ...).")
    ] = None,
    passphrase_file: PassOption = None,
) -> None:
    """Ask the relative a follow-up question (only if she agreed); the bot delivers it, with
    the person named by number, never by name."""
    state = run(
        lambda backend: open_reviewer(backend, key, passphrase_file).followups.ask(
            code, question, person=person
        ),
        errors=(ReviewError,),
    )
    typer.echo(WAITING.get(state, f"{code.upper()}: question queued; the case is now needs_info"))


def review_ask_missing(
    code: str,
    key: KeyOption,
    person: Annotated[int, typer.Option(help="Which detained person (1, 2, ...).")] = 1,
    passphrase_file: PassOption = None,
) -> None:
    """Ask her, in her language, for the UN elements this person still lacks."""

    async def ask(backend: Backend) -> tuple[list[str], str | None]:
        reviewer = open_reviewer(backend, key, passphrase_file)
        missing = await reviewer.followups.ask_missing(code, person)
        return missing, reviewer.requests.last_state

    missing, state = run(ask, errors=(ReviewError,))
    if not missing:
        typer.echo(f"{code.upper()}: person {person} has all six elements")
        return
    typer.echo(WAITING.get(state or "", f"{code.upper()}: asked for {', '.join(missing)}"))


def review_confirm(
    code: str,
    question: Annotated[str, typer.Argument(help="The question's uid (`review show`).")],
    key: KeyOption,
    element: Annotated[
        list[str] | None,
        typer.Option(help="A UN element her answer gives (repeat it); none: it gives none."),
    ] = None,
    person: Annotated[
        int | None, typer.Option(help="The person it is about, for a question that names none.")
    ] = None,
    passphrase_file: PassOption = None,
) -> None:
    """Confirm which UN elements her answer gives, for its person: only confirmed elements
    count toward the Working Group's six ("I don't know" gives none)."""
    state = run(
        lambda backend: open_reviewer(backend, key, passphrase_file).followups.confirm(
            code, question, tuple(element or ()), person=person
        ),
        errors=(ReviewError,),
    )
    given = ", ".join(element or ()) or "no element"
    typer.echo(WAITING.get(state, f"{code.upper()}: her answer gives {given}"))


def review_assign(
    code: str,
    file: Annotated[str, typer.Argument(help="The file's uid (`review show`, evidence).")],
    key: KeyOption,
    person: Annotated[int, typer.Option(help="Which detained person it is about (1, 2, ...).")],
    kind: Annotated[str, typer.Option("--type", help=", ".join(dict(DOC_TYPES)))],
    passphrase_file: PassOption = None,
) -> None:
    """Attribute a file she did not attribute to a person, with its document type: the
    team's attribution, marked as such in drafts (a file she attributed stays hers)."""
    state = run(
        lambda backend: assign(
            open_reviewer(backend, key, passphrase_file), code, file, person, kind
        ),
        errors=(ReviewError,),
    )
    typer.echo(WAITING.get(state, f"{code.upper()}: file {file} is about person {person}"))


def review_duplicates(key: KeyOption, passphrase_file: PassOption = None) -> None:
    """Pairs of cases that may be about the same person."""
    pairs = run(lambda backend: open_reviewer(backend, key, passphrase_file).duplicates.find())
    for first, second, why in pairs:
        typer.echo(f"{first}  {second}  {why}")


def review_link(
    code: str,
    of: Annotated[str, typer.Option("--duplicate-of", help="The case it repeats.")],
    key: KeyOption,
    passphrase_file: PassOption = None,
) -> None:
    """Mark a case as a duplicate of another (both testimonies are kept)."""
    state = run(
        lambda backend: open_reviewer(backend, key, passphrase_file).decisions.link(code, of),
        errors=(ReviewError,),
    )
    typer.echo(WAITING.get(state, f"{code.upper()} duplicates {of.upper()}"))
