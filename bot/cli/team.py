"""Commands for the team's admins: roles, the audit log, broadcasts to subscribers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from bot.cli.shell import Backend, fail, run
from bot.models import Role
from bot.services.audit import ChainReport, verify_chain
from bot.services.broadcasts import Broadcasts, parse_when
from bot.services.roles import CLI, LastAdmin, Roles
from bot.services.withdrawal import Withdrawn, withdraw_by_code


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        fail("the role is reviewer or admin")


def _roles(backend: Backend) -> Roles:
    return Roles(backend.sessionmaker, backend.server_key, backend.accounts)


def roles_grant(
    role: Annotated[str, typer.Argument(help="reviewer or admin")],
    telegram_id: Annotated[int, typer.Argument(help="the person's Telegram user id")],
) -> None:
    """Give someone a role."""
    wanted = _role(role)
    if wanted == Role.RELATIVE:
        fail("to take a role away, use `aigaq roles revoke`")
    before = _change(telegram_id, wanted)
    typer.echo(f"{telegram_id}: {before.value} -> {wanted.value}")


def roles_revoke(telegram_id: Annotated[int, typer.Argument()]) -> None:
    """Take someone's role away (she stays a relative). The last admin stays one."""
    before = _change(telegram_id, Role.RELATIVE)
    typer.echo(f"{telegram_id}: {before.value} -> relative")


def _change(telegram_id: int, role: Role) -> Role:
    """The change made, or a clear refusal: the team is never left without an admin."""
    return run(
        lambda backend: _roles(backend).grant(CLI, telegram_id, role),
        errors=(LastAdmin,),
        explain=lambda _exc: (
            f"{telegram_id} is the only admin, and the team cannot be left without one: "
            "make someone else an admin first (aigaq roles grant admin ID), then try again"
        ),
    )


def roles_list() -> None:
    """Reviewers and admins."""
    for member in run(lambda backend: _roles(backend).team()):
        typer.echo(f"{member.role.value:<9} {member.telegram_id or '?'}")


def audit_verify() -> None:
    """Recompute the hash chain; name the first broken row."""
    report = run(_verify_chain)
    if report.first_broken is not None:
        typer.echo(f"audit log broken at row {report.first_broken}", err=True)
        raise typer.Exit(1)
    head = f"; newest row {report.head[0]}, hash {report.head[1][:16]}" if report.head else ""
    typer.echo(f"audit log intact: {report.rows} rows{head}")


async def _verify_chain(backend: Backend) -> ChainReport:
    async with backend.sessionmaker() as session:
        return await verify_chain(session)


def broadcast(
    kk: Annotated[str | None, typer.Option(help="The text in Kazakh.")] = None,
    ru: Annotated[str | None, typer.Option(help="The text in Russian.")] = None,
    en: Annotated[str | None, typer.Option(help="The text in English.")] = None,
    at: Annotated[
        str | None, typer.Option(help="Send at this Almaty time, e.g. '2026-11-25 18:00'.")
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", help="confirm a broadcast to more than AIGAQ_BROADCAST_APPROVAL_ABOVE"
        ),
    ] = False,
) -> None:
    """Queue a protest update; the running bot sends it. One to more subscribers than
    AIGAQ_BROADCAST_APPROVAL_ABOVE needs --yes (in Telegram, a second admin's approval)."""
    texts = {code: text for code, text in (("kk", kk), ("ru", ru), ("en", en)) if text}
    if not texts:
        fail("give the text in at least one language: --kk, --ru or --en")
    when = parse_when(at) if at else None
    if at and when is None:
        fail("write the time like '2026-11-25 18:00' (Almaty time)")
    number, total = run(lambda backend: _queue_broadcast(backend, texts, when, yes))
    if number is None:
        fail(
            f"this broadcast would reach {total} subscribers, more than "
            "AIGAQ_BROADCAST_APPROVAL_ABOVE: check the texts, then add --yes"
        )
    typer.echo(f"broadcast #{number} queued for {total} subscribers")


async def _queue_broadcast(
    backend: Backend, texts: dict[str, str], when: datetime | None, yes: bool
) -> tuple[int | None, int]:
    """(number, recipients); no number when the audience is over the threshold without --yes."""
    broadcasts = Broadcasts(backend.sessionmaker, backend.server_key)
    audience = sum((await broadcasts.audience()).values())
    if audience > backend.settings.broadcast_approval_above and not yes:
        return None, audience
    number = await broadcasts.create(actor=CLI, created_by=None, texts=texts, scheduled_at=when)
    figures = await broadcasts.figures(number)
    return number, figures.total if figures else 0


def withdraw(
    code: Annotated[str, typer.Argument(help="the case code, e.g. K7QF-M2XD")],
    yes: Annotated[
        bool, typer.Option("--yes", help="confirm: the testimony is deleted for good")
    ] = False,
) -> None:
    """Withdraw a case at the relative's request, when she lost her receipt code (check who
    she is first, docs/deploy.md, "If she lost her receipt code"). Audited as the team's action."""
    if not yes:
        fail("this deletes the case's testimony, files, notes and questions: add --yes")
    done: Withdrawn | None = run(lambda backend: withdraw_by_code(backend.sessionmaker, code))
    if done is None:
        fail(f"no case {code} that is not withdrawn already")
    typer.echo(f"{done.code} withdrawn: {done.attachments} files, {done.keys} keys deleted")
