"""Commands that take cases out for partners: CSV, xlsx, JSON Lines, a signed bundle, a UN draft."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.shell import case_status, fail, run
from bot.cli.unlock import PassOption, open_reviewer
from bot.models import CaseStatus
from bot.reviewing.bundle import ExportError, verify_bundle, who_signed
from bot.reviewing.cases import Reviewer, ReviewError
from bot.reviewing.export import Report, export
from bot.reviewing.un import draft_case


def export_cases(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(help="The file to write.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx, jsonl or bundle")] = "csv",
    key: Annotated[Path | None, typer.Option(envvar="AIGAQ_REVIEWER_KEY")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Default: verified.")] = None,
    grade: Annotated[list[str] | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    internal: Annotated[
        bool, typer.Option(help="Include cases consented only for the team.")
    ] = False,
    partner: Annotated[
        str, typer.Option(help="Who it is for: the audit log records it with the cases sent.")
    ] = "",
    case: Annotated[str | None, typer.Option("--case", help="wgeid: the case code.")] = None,
    person: Annotated[int, typer.Option(help="wgeid: which detained person.")] = 1,
    summary_file: Annotated[
        Path | None, typer.Option(help="wgeid: the narrative summary you translated.")
    ] = None,
    passphrase_file: PassOption = None,
) -> None:
    """Export cases (verified by default) as CSV, xlsx, JSON Lines or a signed bundle; or, with
    --format wgeid --case CODE, draft a UN Working Group submission (.odt) for one person."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None or key is None:
        fail("give --out FILE and --key YOUR.key")
    if fmt == "wgeid":
        if case is None:
            fail("--format wgeid needs --case CODE")
        _wgeid_draft(out, key, passphrase_file, case, person, summary_file)
        return
    statuses = tuple(case_status(s) for s in (status or ["verified"]))
    try:
        start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None
    except ValueError:
        fail("write --since as YYYY-MM-DD")
    report = run(
        lambda backend: _export(
            open_reviewer(backend, key, passphrase_file),
            out,
            fmt,
            statuses=statuses,
            grades=tuple(grade or ()),
            since=start,
            internal=internal,
            partner=partner,
        ),
        errors=(ExportError,),
    )
    # "N cases exported; M excluded: K not verified, J consent: team only" (issue 19).
    typer.echo(
        report.summary()
        + f" (to {out}"
        + (f", {report.files} files" if fmt == "bundle" else "")
        + ")"
    )
    if report.excluded_by_status:
        typer.echo(
            "not exported for their status: "
            + ", ".join(f"{count} {status}" for status, count in report.excluded_by_status.items())
            + " (choose others with --status)"
        )
    if report.excluded_by_consent:
        typer.echo(
            f"{report.excluded_by_consent} left out: consented only for the team "
            f"(use --internal for a team export): {', '.join(report.excluded_codes)}"
        )
    if report.unreadable:
        typer.echo(f"{report.unreadable} could not be opened with this key (not a recipient)")
    if report.withheld_files:
        typer.echo(
            f"{len(report.withheld_files)} files stayed with the team: no copy without their "
            f"metadata could be made (send the original yourself if it is safe): "
            + ", ".join(report.withheld_files)
        )


async def _export(
    reviewer: Reviewer,
    out: Path,
    fmt: str,
    *,
    statuses: tuple[CaseStatus, ...],
    grades: tuple[str, ...],
    since: datetime | None,
    internal: bool,
    partner: str,
) -> Report:
    with typer.progressbar(length=0, label="exporting", show_pos=True) as bar:
        return await export(
            reviewer,
            out,
            fmt,
            statuses=statuses,
            grades=grades,
            since=since,
            internal=internal,
            partner=partner,
            progress=lambda n: bar.update(1),
        )


def _wgeid_draft(
    out: Path,
    key: Path,
    passphrase_file: Path | None,
    code: str,
    person: int,
    summary_file: Path | None,
) -> None:
    summary = summary_file.read_text(encoding="utf-8") if summary_file else ""
    run(
        lambda backend: draft_case(
            open_reviewer(backend, key, passphrase_file), code, person, lambda _code: out, summary
        ),
        errors=(ReviewError, PermissionError, ValueError),
    )
    typer.echo(f"{out}: draft for case {code.upper()}, person {person}. Nothing was sent.")


def export_verify(
    bundle: Path,
    signer: Annotated[str | None, typer.Option(help="The exporter's signing key (hex).")] = None,
    roster_key: Annotated[
        str | None,
        typer.Option(
            envvar="AIGAQ_ROSTER_KEY",
            help="The team's roster key fingerprint: the signer must be a reviewer of the "
            "roster the bundle carries, signed by that key.",
        ),
    ] = None,
    min_roster_version: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Refuse a bundle whose roster is older than this version (the team tells you "
            "the current one): an old roster still lists reviewers who have left.",
        ),
    ] = None,
) -> None:
    """Check a bundle's signature and the SHA-256 of every file in it, and who signed it: a
    bundle is trusted only if its signer is the expected key or a reviewer of the team's
    roster (UNTRUSTED otherwise, exit 1)."""
    if signer is not None and min_roster_version is not None:
        fail("--min-roster-version checks the bundle's roster: give --roster-key, not --signer")
    try:
        count = verify_bundle(bundle, signer)
        if signer is not None:
            who = "the key you expected"
        elif roster_key:
            who = who_signed(bundle, roster_key, min_roster_version)
        else:
            raise ExportError(
                f"UNTRUSTED: the signature and {count} files check out, but nothing says whose "
                "key signed it: give the team's roster key (--roster-key or AIGAQ_ROSTER_KEY) "
                "or the exporter's key (--signer)"
            )
    except ExportError as exc:
        fail(str(exc), code=1)
    typer.echo(f"{bundle}: signature and {count} files verified; signed by {who}")
