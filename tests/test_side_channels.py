"""No side channels (issue: a seized server cannot tell who testified, or about whom).

What the server keeps in the clear about a relative's account, cases, files and the messages
sent to her carries days, not times; the audit log names the team, never her (docs/data.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import event, select, update

from bot.models import (
    Account,
    Attachment,
    AuditEntry,
    Case,
    CaseStatus,
    FollowUp,
    Notice,
    Role,
    utcday,
)
from bot.services.retention import Retention
from handlers.cases import deliver_notices
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import PERSONS, answer_token, walk_intake, withdraw

HER, OTHER, STAFF = 9600, 9601, 9602

# Every column docs/data.md marks "rounded to the day".
ROUNDED = (
    Account.created_at,
    Account.updated_at,
    Case.created_at,
    Case.updated_at,
    Attachment.created_at,
    Notice.created_at,
    Notice.sent_at,
    FollowUp.sent_at,
    FollowUp.answered_at,
)


def _utc(moment: datetime) -> datetime:
    # SQLite gives the time back without its zone; it was written in UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _everything_a_relative_does(harness: Harness) -> tuple[str, str]:
    """A full intake, a question answered, a status she is told, news on and off, a refused
    command; and another relative's case, withdrawn. Returns (her code, the withdrawn one)."""
    her = harness.user(user_id=HER, language_code="en")
    code = await walk_intake(her, locale="en", persons=PERSONS[:1])
    other = harness.user(user_id=OTHER, language_code="kk")
    withdrawn = await walk_intake(other, locale="kk", persons=PERSONS[:1])
    await withdraw(other, withdrawn)

    reviewer = harness.reviewer_tool()
    await reviewer.followups.ask(code, "Do you know his ID number?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    followup_id = answer_token(her)  # the token her Answer button carries
    await her.press(f"fu:{followup_id}")
    await her.send_text("Yes: 654321198501011234")
    await her.press(f"fudone:{followup_id}")
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED, grade="documented")
    assert await deliver_notices(harness.app) == 1  # type: ignore[arg-type]

    await her.send_command("subscribe")
    await her.send_command("unsubscribe")
    await her.send_command("grant", "reviewer 5")  # refused: she is no admin
    await harness.services.roles.grant("cli", STAFF, Role.REVIEWER)
    await harness.user(user_id=STAFF, language_code="en").send_command("grant", "reviewer 5")
    return code, withdrawn


async def test_her_rows_keep_the_day_not_the_time(harness: Harness) -> None:
    first_day = utcday()
    code, withdrawn = await _everything_a_relative_does(harness)
    days = {first_day, utcday()}  # the test may run across midnight
    async with harness.services.sessionmaker() as session:
        for column in ROUNDED:
            values = [v for v in await session.scalars(select(column)) if v is not None]
            assert values, f"no {column} was written"
            for value in values:
                moment = _utc(value)
                assert moment.time() == datetime.min.time(), (str(column), moment)
                assert moment in days, (str(column), moment)
        cases = {c.code: c for c in await session.scalars(select(Case))}
        assert set(cases) == {code, withdrawn}
        notice = (await session.scalars(select(Notice))).one()
        assert notice.state == "sent"
        followup = (await session.scalars(select(FollowUp))).one()
        assert followup.state == "answered"
        answers = await session.scalars(
            select(Attachment.id).where(Attachment.followup_id == followup.id)
        )
        assert len(list(answers)) == 1
    # The exact time she submitted is sealed, for the reviewers only.
    submitted = datetime.fromisoformat((await harness.open_case(code))["submitted_at"])
    assert utcday(submitted) in days


async def test_no_relative_is_named_in_the_audit_log(harness: Harness) -> None:
    code, withdrawn = await _everything_a_relative_does(harness)
    accounts = harness.services.accounts
    hers = {accounts.pseudonym(HER), accounts.pseudonym(OTHER)}
    async with harness.services.sessionmaker() as session:
        relatives = set(
            await session.scalars(select(Account.pseudonym).where(Account.role == Role.RELATIVE))
        )
        assert hers <= relatives
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    by_action: dict[tuple[str, str | None], list[str]] = {}
    for entry in entries:
        by_action.setdefault((entry.action, entry.target), []).append(entry.actor)
        assert entry.actor not in relatives, (entry.action, entry.actor)
        for pseudonym in relatives:
            for said in (entry.target or "", entry.detail):
                assert pseudonym[:16] not in said, (entry.action, said)
    assert by_action[("case.withdrawn", withdrawn)] == ["relative"]
    assert by_action[("followup.answered", code)] == ["relative"]
    # Staff are named as before: a reviewer who tried an admin command, by her pseudonym.
    assert by_action[("refused", "grant")] == ["relative", accounts.pseudonym(STAFF)]
    assert by_action[("case.status", code)] == [harness.reviewer.key_id]


async def test_a_rejected_case_is_kept_the_whole_days_of_its_retention(harness: Harness) -> None:
    user = harness.user(user_id=HER, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    await harness.reviewer_tool().decisions.set_status(code, CaseStatus.REJECTED)
    sessions = harness.services.sessionmaker
    retention = Retention(
        sessions,
        harness.services.server_key,
        draft_ttl=timedelta(days=7),
        rejected_after=timedelta(days=30),
    )

    async def decided(days_ago: int) -> int:
        async with sessions() as session, session.begin():
            when = utcday() - timedelta(days=days_ago)
            await session.execute(update(Case).where(Case.code == code).values(updated_at=when))
        return (await retention.purge()).rejected_cases

    assert await decided(0) == 0
    # Decided some time on the day 30 days ago: perhaps less than 30 days ago, so it stays.
    assert await decided(30) == 0
    assert await decided(31) == 1
    async with sessions() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert case.payload is None and case.status == CaseStatus.REJECTED


def test_utcday_is_midnight_utc_of_the_moment() -> None:
    almaty = timedelta(hours=5)
    late = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)
    assert utcday(late) == datetime(2026, 3, 14, tzinfo=UTC)
    # 02:00 in Almaty is still the day before in UTC.
    early = datetime(2026, 3, 15, 2, 0, tzinfo=timezone(almaty))
    assert utcday(early) == datetime(2026, 3, 14, tzinfo=UTC)
    # A time read back from SQLite has no zone: it is UTC.
    assert utcday(datetime(2026, 3, 14, 23, 30)) == datetime(2026, 3, 14, tzinfo=UTC)
    assert utcday().time() == datetime.min.time() and utcday().tzinfo == UTC


async def test_what_a_relative_did_is_dated_to_the_day_in_the_audit_log(harness: Harness) -> None:
    from sqlalchemy import select

    from bot.models import AuditEntry

    user = harness.user(user_id=8890, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    await withdraw(user, code)
    async with harness.services.sessionmaker() as session:
        rows = list(await session.scalars(select(AuditEntry).where(AuditEntry.actor == "relative")))
    assert rows
    for row in rows:
        assert (row.at.hour, row.at.minute, row.at.second, row.at.microsecond) == (0, 0, 0, 0)


async def test_submit_touches_no_account_and_leaves_no_draft_file_behind(
    harness: Harness,
) -> None:
    """The submit transaction reads and writes no account row (nothing in it says whose case
    it is), and a file she sent and then replaced is deleted with the rest of the draft's."""
    services = harness.services
    user = harness.user(user_id=HER, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS[:1], submit=False)
    # A voice message given as an answer and then replaced by a typed one: her draft lists
    # it among the files she sent (as handlers/intake.py does), but no answer names it.
    replaced = await services.cases.seal_attachment("voice", b"OggS" + b"a first try " * 40)
    draft = harness.app.user_data[HER]["draft"]  # type: ignore[union-attr]
    draft["files"].append(replaced)
    assert len(draft["files"]) == 4  # two photos and a PDF she sent, and the replaced one
    statements: list[str] = []
    submitting = False

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if submitting:
            statements.append(statement)

    real = services.cases.submit

    async def watched(*args: Any, **kwargs: Any) -> Any:
        nonlocal submitting
        submitting = True
        try:
            return await real(*args, **kwargs)
        finally:
            submitting = False

    event.listen(services.engine.sync_engine, "before_cursor_execute", watch)
    services.cases.submit = watched
    try:
        await user.press("i:summary:submit")
    finally:
        services.cases.submit = real
        event.remove(services.engine.sync_engine, "before_cursor_execute", watch)
    assert statements, "the submit was not watched"
    assert not [s for s in statements if "accounts" in s.lower()], statements
    async with services.sessionmaker() as session:
        drafts_files = await session.scalars(
            select(Attachment.uid).where(Attachment.case_id.is_(None))
        )
        assert list(drafts_files) == []
