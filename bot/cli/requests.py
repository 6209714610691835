"""Server commands for reviewers' signed requests: apply a requests file, grant a role."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from bot.cli.shell import Backend, fail, run
from bot.crypto.delivery import DeliveryKeyring
from bot.crypto.requests import RequestError, verify_request
from bot.db_roles import RoleError, grant_reviewer
from bot.request_rows import ReviewerRequest
from bot.services import audit
from bot.services.delivery_keys import DeliveryKeys
from bot.services.reviewer_requests import RequestApplier
from bot.services.team import TeamRoster


def apply_command(
    source: Annotated[Path, typer.Argument(help="A reviewer's requests file (one per line).")],
) -> None:
    """Apply the signed requests a reviewer made on a copy of the database: each is checked
    as the bot checks those in its table (signature, roster, team, age), then applied."""
    try:
        # One request per "\n": a request may hold U+2028 and the like, which splitlines()
        # would cut it at.
        lines = [line for line in source.read_text(encoding="utf-8").split("\n") if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {source}: {exc}")
    outcome = run(lambda backend: _apply(backend, lines))
    refused = 0
    for number, (state, reason) in enumerate(outcome, start=1):
        typer.echo(f"line {number}: {state}" + (f": {reason}" if reason else ""))
        refused += state.endswith("refused")
    typer.echo(
        f"{source} holds messages to relatives and wrapped keys until they are applied: "
        "delete it now (shred -u, or rm on an encrypted disk)",
        err=True,
    )
    if refused:
        raise typer.Exit(1)


async def _apply(backend: Backend, lines: list[str]) -> list[tuple[str, str | None]]:
    settings = backend.settings
    team = TeamRoster(
        backend.sessionmaker,
        settings.roster,
        settings.require_roster_key(),
        settings.roster_seen(),
    )
    await team.load()
    keys = DeliveryKeys(backend.sessionmaker, DeliveryKeyring(settings.delivery_folder()))
    applier = RequestApplier(
        backend.sessionmaker, team, keys, max_age=timedelta(days=settings.request_max_age_days)
    )
    # Each line: its request's digest, or why it is none.
    taken: list[tuple[str | None, str | None]] = []
    earlier: set[str] = set()
    async with backend.sessionmaker() as session, session.begin():
        for line in lines:
            try:
                request = verify_request(line)
            except (RequestError, RecursionError, ValueError) as exc:
                reason = str(exc) if isinstance(exc, RequestError) else "not a signed request"
                taken.append((None, reason))
                await audit.record(
                    session,
                    actor="cli",
                    action="request.refused",
                    target="file",
                    detail={"reason": reason[:200]},
                )
                continue
            known = await session.scalar(
                select(ReviewerRequest.id).where(ReviewerRequest.digest == request.digest)
            )
            if known is not None:
                earlier.add(request.digest)
            elif all(digest != request.digest for digest, _ in taken):
                session.add(
                    ReviewerRequest(digest=request.digest, kind=request.kind, document=line)
                )
            taken.append((request.digest, None))
    await applier.apply_pending()
    outcome: list[tuple[str, str | None]] = []
    async with backend.sessionmaker() as session:
        for digest, unreadable in taken:
            if digest is None:
                outcome.append(("refused", unreadable))
                continue
            row = (
                await session.execute(
                    select(ReviewerRequest.state, ReviewerRequest.reason).where(
                        ReviewerRequest.digest == digest
                    )
                )
            ).one()
            state = f"already {row.state}" if digest in earlier else str(row.state)
            outcome.append((state, row.reason))
    return outcome


def db_grant_reviewer(
    role: Annotated[str, typer.Argument(help="A PostgreSQL role made with CREATE ROLE … LOGIN.")],
) -> None:
    """Give a reviewer's PostgreSQL role read access to what her tools read, and INSERT into
    the request table only (PostgreSQL; run as the database's owner)."""
    run(lambda backend: grant_reviewer(backend.engine, role), errors=(RoleError,))
    typer.echo(f"{role} may read cases and keys and add signed requests; it can change nothing")
