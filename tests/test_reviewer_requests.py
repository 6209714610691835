"""Reviewers write by signed request; the bot, the only writer, applies what the roster
signed and refuses the rest (DESIGN.md "Sealing and trust"; docs/sealing.md).

Attacks are played the way an adversary meets the system: rows inserted into the request
table of a real database, a requests file handed to the real `aigaq apply`, a reviewer
engine whose every statement is watched, and (PostgreSQL) a reviewer role that may only
insert requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from typer.testing import CliRunner

from bot import db
from bot.cli import app as cli
from bot.crypto.requests import RequestError, canonical, sign_request, verify_request
from bot.crypto.roster import read_roster, write_roster
from bot.models import AuditEntry, Case, CaseNote, CaseStatus, SealedKey
from bot.request_rows import ReviewerRequest
from bot.reviewing.cases import Reviewer, ReviewError
from bot.reviewing.export import export
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.requests import WRITTEN, TableSink
from bot.reviewing.roster_pin import RosterPin
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import Consent
from tests.test_intake_dialogue import PERSONS, walk_intake

NOTE = "Checked with the detention notice"


def test_a_request_is_signed_over_its_canonical_form_and_any_change_shows() -> None:
    key = Ed25519PrivateKey.generate()
    made = sign_request(key, "link", {"case": "AAAA-BBBB", "of": "CCCC-DDDD"}, team="ab" * 32)
    request = verify_request(made.document)
    assert (request.kind, request.body, request.digest) == (
        "link",
        {"case": "AAAA-BBBB", "of": "CCCC-DDDD"},
        made.digest,
    )
    assert request.signer == key.public_key().public_bytes_raw().hex()
    document = json.loads(made.document)
    document["request"]["body"]["of"] = "EEEE-FFFF"
    with pytest.raises(RequestError, match="signature does not hold"):
        verify_request(json.dumps(document))
    document = json.loads(made.document)
    document["signer"] = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    with pytest.raises(RequestError, match="signature does not hold"):
        verify_request(json.dumps(document))
    # Two identical decisions are two requests (each has its own random id).
    again = sign_request(key, "link", {"case": "AAAA-BBBB", "of": "CCCC-DDDD"}, team="ab" * 32)
    assert again.digest != made.digest
    with pytest.raises(RequestError):
        verify_request(b"\xff" * 10)
    with pytest.raises(RequestError, match="larger than 1 MiB"):
        verify_request("x" * ((1 << 20) + 1))


async def _case(harness: Harness, user_id: int) -> str:
    """A case whose relative agreed to be contacted (notices and questions reach her)."""
    user = harness.user(user_id=user_id, language_code="en")
    return await walk_intake(user, locale="en", persons=PERSONS[:1], consent=Consent())


async def _team(harness: Harness) -> str:
    return (
        await harness.roster_pin(harness.reviewer).verified(harness.services.sessionmaker)
    ).signed_by


async def _insert(harness: Harness, document: str) -> str:
    """A row as anyone who can write to the database adds one."""
    request = json.loads(document)
    digest = hashlib.sha256(canonical(request["request"])).hexdigest()
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            insert(ReviewerRequest).values(
                digest=digest, kind=request["request"]["kind"], document=document
            )
        )
    return digest


async def _outcome(harness: Harness, digest: str) -> tuple[str, str | None]:
    async with harness.services.sessionmaker() as session:
        row = (
            await session.execute(
                select(ReviewerRequest.state, ReviewerRequest.reason).where(
                    ReviewerRequest.digest == digest
                )
            )
        ).one()
    return row.state, row.reason


async def _status(harness: Harness, code: str) -> CaseStatus:
    async with harness.services.sessionmaker() as session:
        return (await session.scalars(select(Case.status).where(Case.code == code))).one()


async def test_the_bot_refuses_what_a_database_writer_inserts(harness: Harness) -> None:
    """Forged, altered, foreign, stale, future and head-less requests change nothing; each
    refusal is in the audit log with its reason; a replay cannot even be inserted."""
    code = await _case(harness, 9700)
    other = await _case(harness, 9701)
    team = await _team(harness)
    link = {"case": code, "of": other}
    mine = harness.reviewer.signing_key()
    outsider = ReviewerKey.generate().signing_key()  # a key the roster does not list
    forged = sign_request(outsider, "link", link, team=team).document
    altered = json.loads(sign_request(mine, "link", {"case": code, "of": code}, team=team).document)
    altered["request"]["body"]["of"] = other
    foreign = sign_request(mine, "link", link, team="cd" * 32).document
    stale = sign_request(
        mine, "link", link, team=team, made_at=datetime.now(UTC) - timedelta(days=15)
    ).document
    ahead = sign_request(
        mine, "link", link, team=team, made_at=datetime.now(UTC) + timedelta(hours=1)
    ).document
    elsewhere = sign_request(mine, "head", {}, team=team, head=(1, "00" * 32)).document
    unknown_event = sign_request(
        mine, "event", {"action": "case.deleted", "target": code, "detail": {}}, team=team
    ).document
    expected = {
        forged: "roster does not list",
        canonical(altered).decode(): "signature does not hold",
        foreign: "another team",
        stale: "older than 14 days",
        ahead: "in the future",
        elsewhere: "not in this log",
        unknown_event: "no such event",
    }
    digests = {document: await _insert(harness, document) for document in expected}
    assert await harness.services.reviewer_requests.apply_pending() == len(expected)
    for document, reason in expected.items():
        state, said = await _outcome(harness, digests[document])
        assert state == "refused" and reason in (said or ""), (reason, said)
    async with harness.services.sessionmaker() as session:
        duplicate_of = await session.scalar(select(Case.duplicate_of).where(Case.code == code))
        refused = await session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "request.refused")
        )
    assert duplicate_of is None and refused == len(expected)
    # The real one applies; the same document again is no new request.
    real = sign_request(mine, "link", link, team=team).document
    digest = await _insert(harness, real)
    await harness.services.reviewer_requests.apply_pending()
    assert await _outcome(harness, digest) == ("applied", None)
    with pytest.raises(IntegrityError):
        await _insert(harness, real)
    async with harness.services.sessionmaker() as session:
        audited = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "case.duplicate"))
        ).one()
    assert audited.actor == harness.reviewer.key_id
    assert json.loads(audited.detail)["request"] == digest


async def test_a_replay_by_resetting_the_state_is_refused(harness: Harness) -> None:
    """The request table's state is the database's; the log is the bot's: a digest it
    names is never applied again, whatever the row says. Her tools do not take a state
    changed to `applied` for the bot's word either."""
    code = await _case(harness, 9705)
    tools = harness.reviewer_tool()
    captured: dict[int, str | None] = {}

    async def seen_then_applied() -> int:
        # A database writer copies the decision while it waits (its document is cleared
        # once applied, so he must be quick), then the bot applies it.
        async with harness.services.sessionmaker() as session:
            for row_id, document in await session.execute(
                select(ReviewerRequest.id, ReviewerRequest.document).where(
                    ReviewerRequest.state == "pending"
                )
            ):
                captured[row_id] = document
        return await harness.services.reviewer_requests.apply_pending()

    tools.requests.sink = TableSink(harness.services.sessionmaker, after_insert=seen_then_applied)
    await tools.decisions.set_status(code, CaseStatus.VERIFIED)
    await tools.decisions.set_status(code, CaseStatus.REJECTED)
    first = min(captured)
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(ReviewerRequest)
            .where(ReviewerRequest.id == first)
            .values(state="pending", document=captured[first])
        )
    await harness.services.reviewer_requests.apply_pending()
    async with harness.services.sessionmaker() as session:
        state, reason = (
            await session.execute(
                select(ReviewerRequest.state, ReviewerRequest.reason).where(
                    ReviewerRequest.id == first
                )
            )
        ).one()
    assert state == "refused" and "a replay" in reason
    assert await _status(harness, code) == CaseStatus.REJECTED
    # A link the bot never took, marked applied by a database writer.
    other = await _case(harness, 9706)
    sink = TableSink(harness.services.sessionmaker, timeout=5, poll=0.05)
    tools.requests.sink = sink
    sink._after_insert = _mark_applied(harness)
    with pytest.raises(ReviewError, match="its log does not"):
        await tools.decisions.link(other, code)


def _mark_applied(harness: Harness) -> Any:
    async def mark() -> int:
        async with harness.services.sessionmaker() as session, session.begin():
            await session.execute(
                update(ReviewerRequest)
                .where(ReviewerRequest.state == "pending")
                .values(state="applied")
            )
        return 0

    return mark


async def test_a_row_that_cannot_be_read_is_refused_and_the_queue_goes_on(
    harness: Harness,
) -> None:
    code = await _case(harness, 9707)
    other = await _case(harness, 9708)
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO reviewer_requests (digest, kind, document) "
                "VALUES (:digest, 'link', :document)"
            ),
            {"digest": "ab" * 32, "document": "[" * 200_000},
        )
    team = await _team(harness)
    link = sign_request(
        harness.reviewer.signing_key(), "link", {"case": other, "of": code}, team=team
    )
    digest = await _insert(harness, link.document)
    assert await harness.services.reviewer_requests.apply_pending() == 2
    assert (await _outcome(harness, "ab" * 32))[0] == "refused"
    assert await _outcome(harness, digest) == ("applied", None)
    # Larger than any request: the database refuses the row itself.
    with pytest.raises(IntegrityError):
        async with harness.services.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO reviewer_requests (digest, kind, document) "
                    "VALUES (:digest, 'link', :document)"
                ),
                {"digest": "cd" * 32, "document": "x" * ((1 << 20) + 1)},
            )


async def test_a_departed_reviewer_can_no_longer_decide(harness: Harness) -> None:
    code = await _case(harness, 9710)
    colleague = ReviewerKey.generate()
    await harness.sign_roster([harness.reviewer.public(), colleague.public()])
    tools = harness.reviewer_tool()
    await tools.decisions.set_status(code, CaseStatus.IN_REVIEW, note=NOTE)
    # She left the team: the admin copies the next roster to the server, and the running
    # bot reads it before it takes her next request (no restart).
    current = read_roster(harness.settings.roster, harness.settings.roster_key)
    write_roster(
        harness.settings.roster,
        harness.roster_key,
        [harness.listed(colleague.public())],
        version=current.version + 1,
    )
    with pytest.raises(ReviewError, match="roster does not list"):
        await harness.reviewer_tool().decisions.set_status(code, CaseStatus.VERIFIED)
    assert await _status(harness, code) == CaseStatus.IN_REVIEW


async def test_a_note_sealed_to_a_key_outside_the_roster_is_refused(harness: Harness) -> None:
    """A reviewer's tools cannot add a reader: the bot takes a note only if it is sealed to
    exactly the reviewers of its roster."""
    code = await _case(harness, 9720)
    team = await _team(harness)
    tools = harness.reviewer_tool()
    # Her tools seal to the roster; a request whose note names one more key is refused.
    await tools.decisions.set_status(code, CaseStatus.IN_REVIEW, note=NOTE)
    async with harness.services.sessionmaker() as session:
        document = await session.scalar(
            select(ReviewerRequest.document).where(ReviewerRequest.kind == "decision")
        )
    assert document is None  # a decision may carry her notice: cleared once applied
    body: dict[str, Any] = {
        "case": code,
        "status": "verified",
        "grade": None,
        "uid": "ab" * 16,
        "note": {
            "sealed": "AAAA",
            "keys": {harness.reviewer.key_id: "AAAA", "intruder01": "AAAA"},
            "anchor": {},
        },
        "notice": None,
    }
    digest = await _insert(
        harness, sign_request(harness.reviewer.signing_key(), "decision", body, team=team).document
    )
    await harness.services.reviewer_requests.apply_pending()
    state, reason = await _outcome(harness, digest)
    assert state == "refused" and "does not list" in (reason or "")
    assert await _status(harness, code) == CaseStatus.IN_REVIEW


async def test_a_reviewer_on_a_copy_writes_a_file_the_operator_applies(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a reviewer works on a copy: her requests go to a file, the copy and the
    live database are untouched until the operator runs `aigaq apply FILE`."""
    code = await _case(harness, 9730)
    requests_file = tmp_path / "requests.jsonl"
    tools = Reviewer(
        harness.services.sessionmaker,
        harness.reviewer,
        inbox_fingerprint=harness.inbox_fingerprint,
        roster_pin=harness.roster_pin(harness.reviewer),
        requests_file=requests_file,
    )
    assert await tools.decisions.set_status(code, CaseStatus.VERIFIED, note=NOTE) == WRITTEN
    assert await tools.followups.ask(code, "Do you have his ID card?") == WRITTEN
    assert os.stat(requests_file).st_mode & 0o777 == 0o600
    assert await _status(harness, code) == CaseStatus.RECEIVED
    settings = harness.settings
    for name, value in {
        "AIGAQ_DATABASE_URL": settings.database_url,
        "AIGAQ_SECRET_KEY_FILE": str(settings.secret_key_file),
        "AIGAQ_ROSTER": str(settings.roster),
        "AIGAQ_ROSTER_KEY": settings.roster_key or "",
        "AIGAQ_BOT_TOKEN": "123456:TEST-token",
        "AIGAQ_ORGANISATION": "Test Witness Project",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    async def apply() -> Any:
        # The operator's command, in its own thread and event loop, as from a shell.
        return await asyncio.to_thread(CliRunner().invoke, cli, ["apply", str(requests_file)])

    result = await apply()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["line 1: applied", "line 2: applied"]
    assert "delete it now" in result.output  # it held her chat id and the question
    assert await _status(harness, code) == CaseStatus.NEEDS_INFO
    opened = await harness.reviewer_tool().show(code)
    # The verification with her note, then the question's recorded status change (no note).
    assert [(n["kind"], n["note"]) for n in opened.notes] == [
        ("decision", NOTE),
        ("question", ""),
    ]
    # Applied once: the same file again changes nothing and says so.
    again = await apply()
    assert again.output.splitlines()[:2] == [
        "line 1: already applied",
        "line 2: already applied",
    ]
    assert again.exit_code == 0
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count(CaseNote.id))) == 2  # as before
    # A line someone changed is refused by name, and the command says so by its exit code.
    lines = requests_file.read_text().splitlines()
    tampered = json.loads(lines[0])
    tampered["request"]["body"]["status"] = "rejected"
    requests_file.write_text(json.dumps(tampered) + "\n")
    refused = await apply()
    assert refused.exit_code == 1
    assert "line 1: refused: the request's signature does not hold" in refused.output


def _watch(engine: Any) -> list[str]:
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    return statements


def _writes(statements: list[str]) -> list[str]:
    return [
        s
        for s in statements
        if not s.startswith(("SELECT", "INSERT INTO REVIEWER_REQUESTS", "PRAGMA", "BEGIN"))
        and not s.startswith(("COMMIT", "ROLLBACK", "SHOW", "SET "))
    ]


async def test_reviewer_tools_only_read_and_add_requests(harness: Harness) -> None:
    """On her own engine, every statement her tools send for a decision with a note and a
    notice, a question, a link, a rewrap, a reading and an export is a SELECT or an INSERT
    into the request table; the bot's engine writes the rest."""
    code = await _case(harness, 9740)
    other = await _case(harness, 9741)
    engine = db.create_engine(harness.settings.database_url)
    statements = _watch(engine)
    try:
        tools = Reviewer(
            db.make_sessionmaker(engine),
            harness.reviewer,
            inbox_fingerprint=harness.inbox_fingerprint,
            intake_fingerprint=harness.intake_fingerprint,
            roster_pin=harness.roster_pin(harness.reviewer),
        )
        tools.requests.sink = TableSink(
            db.make_sessionmaker(engine),
            after_insert=harness.services.reviewer_requests.apply_pending,
        )
        await tools.decisions.set_status(code, CaseStatus.VERIFIED, note=NOTE)
        await tools.followups.ask(code, "Do you have his ID card?")
        await tools.decisions.link(other, code)
        assert (await tools.show(code)).status == CaseStatus.NEEDS_INFO
        colleague = ReviewerKey.generate()
        await harness.sign_roster([harness.reviewer.public(), colleague.public()])
        from bot.reviewing.rewrap import rewrap

        held = await rewrap(
            tools._sessionmaker,
            harness.reviewer,
            colleague.public().fingerprint,
            team=tools.team,
            requests=tools.requests,
        )
        assert held > 0
    finally:
        await engine.dispose()
    assert statements and _writes(statements) == []
    async with harness.services.sessionmaker() as session:
        kept = list(
            await session.scalars(
                select(ReviewerRequest.document).where(
                    ReviewerRequest.kind.in_(["rewrap", "decision", "question"])
                )
            )
        )
    # Wrapped keys for a reviewer who may be revoked, and messages to her: none stay.
    assert len(kept) >= 3 and kept == [None] * len(kept)
    async with harness.services.sessionmaker() as session:
        actions = set(await session.scalars(select(AuditEntry.action)))
        theirs = await session.scalar(
            select(func.count(SealedKey.id)).where(SealedKey.recipient_id.is_not(None))
        )
    assert {
        "case.status",
        "followup.asked",
        "case.duplicate",
        "case.viewed",
        "key.rewrapped",
    } <= actions
    assert theirs and theirs >= 2 * held


async def test_a_reviewer_role_may_only_read_and_add_requests(harness: Harness) -> None:
    """PostgreSQL: `aigaq db grant-reviewer` gives her role SELECT on what her tools read
    and INSERT of a request's three columns; her tools work, and a stolen laptop's
    credential can change no case, log, key, or request state, nor read an account."""
    if not harness.settings.database_url.startswith("postgresql"):
        pytest.skip("roles are PostgreSQL's; on SQLite she works on a copy (the test above)")
    from bot.db_roles import grant_reviewer

    role = f"aigaq_rev_{os.getpid()}"
    owner = harness.services.engine
    async with owner.begin() as connection:
        await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        await connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    await grant_reviewer(owner, role)
    await grant_reviewer(owner, role)  # idempotent
    code = await _case(harness, 9750)
    url = make_url(harness.settings.database_url).set(username=role)
    engine = db.create_engine(url.render_as_string(hide_password=False))
    try:
        sessionmaker = db.make_sessionmaker(engine)
        tools = Reviewer(
            sessionmaker,
            harness.reviewer,
            inbox_fingerprint=harness.inbox_fingerprint,
            roster_pin=RosterPin(harness.roster_pin(harness.reviewer).key_file),
        )
        tools.requests.sink = TableSink(
            sessionmaker, after_insert=harness.services.reviewer_requests.apply_pending
        )
        await tools.decisions.set_status(code, CaseStatus.VERIFIED, note=NOTE)
        await tools.followups.ask(code, "Do you have his ID card?")
        assert (await tools.show(code)).notes[0]["note"] == NOTE
        assert [q["question"] for q in await tools.followups.of(code)] == [
            "Do you have his ID card?"
        ]
        await tools.decisions.set_status(code, CaseStatus.VERIFIED)
        bundle = harness.settings.roster.parent / "partner.zip"
        assert (await export(tools, bundle, "bundle", partner="a partner")).exported == 1
        for forbidden in (
            "UPDATE cases SET status = 'rejected'",
            "INSERT INTO audit_log (at, actor, action, detail, prev_hash, hash) "
            "VALUES (now(), 'x', 'x', '{}', 'x', 'x')",
            "UPDATE reviewer_requests SET state = 'applied'",
            "DELETE FROM sealed_keys",
            "SELECT id FROM accounts",
            "SELECT document FROM reviewer_requests",
        ):
            with pytest.raises(DBAPIError, match="permission denied"):
                async with engine.begin() as connection:
                    await connection.execute(text(forbidden))
    finally:
        await engine.dispose()
        async with owner.begin() as connection:
            await connection.execute(text(f'DROP OWNED BY "{role}"'))
            await connection.execute(text(f'DROP ROLE "{role}"'))
    assert await _status(harness, code) == CaseStatus.VERIFIED


async def test_an_insert_wakes_the_bots_loop(harness: Harness) -> None:
    """A request inserted by another process is applied by the running bot's loop, not
    only when tools in the same process ask (NOTIFY on PostgreSQL, the poll on SQLite)."""
    from bot.services import reviewer_requests

    code = await _case(harness, 9760)
    other = await _case(harness, 9761)
    app = harness.app
    assert app is not None and app.services.sender_loop is not None
    loop = app.services.sender_loop
    loop._fallback = 0.2  # the SQLite poll, shortened for the test
    await loop.start()
    try:
        # As from another process: no applier of this process is told.
        reviewer_requests._LOCAL.clear()
        sink = TableSink(harness.services.sessionmaker, timeout=10, poll=0.05)
        tools = harness.reviewer_tool()
        tools.requests.sink = sink
        assert await asyncio.wait_for(tools.decisions.link(other, code), 15) == "applied"
    finally:
        await loop.stop()
        harness.services.reviewer_requests.serve_locally(harness.services.engine)
    async with harness.services.sessionmaker() as session:
        linked = await session.scalar(select(Case.duplicate_of).where(Case.code == other))
    assert linked is not None


async def test_the_command_line_asks_about_a_person_and_confirms_her_answer(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aigaq review ask --person`, `review show` (each question's uid) and `review confirm`
    on a reviewer's copy: written to her requests file, applied by `aigaq apply`."""
    user = harness.user(user_id=9770, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:2], consent=Consent())
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long enough passphrase")
    key_file = harness.roster_pin(harness.reviewer).key_file
    harness.reviewer.save(key_file, passphrase.read_text(), scrypt_n=2**10)
    requests_file = tmp_path / "requests.jsonl"
    settings = harness.settings
    for name, value in {
        "AIGAQ_DATABASE_URL": settings.database_url,
        "AIGAQ_SECRET_KEY_FILE": str(settings.secret_key_file),
        "AIGAQ_ROSTER": str(settings.roster),
        "AIGAQ_ROSTER_KEY": settings.roster_key or "",
        "AIGAQ_INBOX_FINGERPRINT": harness.inbox_fingerprint,
        "AIGAQ_REQUESTS_FILE": str(requests_file),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    key = ["--key", str(key_file), "--passphrase-file", str(passphrase)]

    async def aigaq(*args: str) -> Any:
        # As from a shell: its own thread and event loop; the bot's loop is not told.
        result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
        assert result.exit_code == 0, result.output
        return result

    asked = await aigaq("review", "ask", code, "Which day was he taken?", "--person", "2", *key)
    assert "Written to your requests file" in asked.output
    await aigaq("apply", str(requests_file))
    requests_file.unlink()
    await deliver_questions(harness.app)  # type: ignore[arg-type]
    button = user.buttons()[0][1]
    # She is told which person by number, never by name.
    assert any((m.text or "").startswith("Person 2.") for m in user.messages)
    await user.press(button)
    await user.send_text("12.05.2018")
    await user.press(button.replace("fu:", "fudone:"))
    shown = json.loads((await aigaq("review", "show", code, *key)).output)
    [question] = shown["followups"]
    assert question["person"] == 2
    confirmed = await aigaq("review", "confirm", code, question["uid"], "--element", "date", *key)
    assert "Written to your requests file" in confirmed.output
    applied = await aigaq("apply", str(requests_file))
    assert applied.output.startswith("line 1: applied")
    [after] = await harness.reviewer_tool().followups.of(code)
    assert after["confirmed"] == ["date"]
