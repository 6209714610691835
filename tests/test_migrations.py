"""The schema changes only through Alembic: head matches the models, and every step reverses."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot import db
from bot.models import Base, utcday


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_head_matches_the_models(scratch_database_url: str) -> None:
    await db.upgrade(scratch_database_url)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_with_data(scratch_database_url: str) -> None:
    await db.upgrade(scratch_database_url)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO accounts (pseudonym, role, subscribed, created_at, updated_at)"
                    " VALUES ('p1', 'relative', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        await db.downgrade(scratch_database_url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await db.upgrade(scratch_database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
            assert await db.current_revision(engine) == db.head_revision()
    finally:
        await engine.dispose()


async def test_refuses_to_start_behind_head(scratch_database_url: str) -> None:
    engine = db.create_engine(scratch_database_url)
    try:
        try:
            await db.ensure_schema_current(engine)
        except db.SchemaOutOfDate as exc:
            assert "aigaq db upgrade" in str(exc)
        else:
            raise AssertionError("an empty database was accepted")
        await db.upgrade(scratch_database_url)
        await db.ensure_schema_current(engine)
    finally:
        await engine.dispose()


# -- 0008: the JSON wrapped keys of notes and questions move into sealed_keys ---------------

ONE_KEY_TABLE = "0008"


def _before_one_key_table() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    before = script.get_revision(ONE_KEY_TABLE).down_revision
    assert isinstance(before, str)
    return before


def _reflect(connection: Connection) -> dict[str, Any]:
    from sqlalchemy import MetaData

    metadata = MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)


async def test_a_note_and_a_question_sealed_the_old_way_are_readable_after_upgrade(
    scratch_database_url: str,
) -> None:
    import base64
    import json
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot.crypto import DeliveryKey, seal
    from bot.models import SealedKey
    from bot.reviewing.cases import Reviewer
    from bot.reviewing.keys import ReviewerKey
    from bot.sealing import wrapped_for

    key, inbox = ReviewerKey.generate(), DeliveryKey.generate()
    public = key.public()
    now = datetime.now(UTC)
    record = (
        b'{"code": "AAAA-BBBB", "submitted_at": "2026-11-01T10:00:00+00:00", "locale": "en",'
        b' "testifier": {}, "detainees": []}'
    )
    case = seal(record, [public], object_id="c" * 32, kind="case")
    note = seal(b"On the Ili list, row 88.", [public], object_id="n" * 32, kind="note")
    question = seal(
        b"Is his ID 6543?", [public, inbox.public()], object_id="q" * 32, kind="question"
    )

    def b64(wrapped: dict[str, bytes]) -> str:
        return json.dumps({k: base64.b64encode(v).decode() for k, v in wrapped.items()})

    await db.upgrade(scratch_database_url, _before_one_key_table())
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflect)
            await connection.execute(
                tables["recipients"]
                .insert()
                .values(
                    id=1,
                    key_id=public.key_id,
                    suite=public.suite,
                    public_key=public.public_bytes,
                    label="",
                    active=True,
                    added_at=now,
                )
            )
            await connection.execute(
                tables["cases"]
                .insert()
                .values(
                    id=1,
                    uid="c" * 32,
                    code="AAAA-BBBB",
                    status="in_review",
                    locale="en",
                    schema_version=1,
                    payload=case.ciphertext,
                    detainee_count=0,
                    attachment_count=0,
                    consent_contact=True,
                    consent_sharing="team",
                    created_at=now,
                    updated_at=now,
                )
            )
            await connection.execute(
                tables["case_keys"]
                .insert()
                .values(recipient_id=1, case_id=1, wrapped_key=case.wrapped_keys[public.key_id])
            )
            await connection.execute(
                tables["case_notes"]
                .insert()
                .values(
                    case_id=1,
                    uid="n" * 32,
                    reviewer=public.key_id,
                    status="verified",
                    grade="reported",
                    sealed_note=note.ciphertext,
                    wrapped_keys=b64(note.wrapped_keys),
                    created_at=now,
                )
            )
            await connection.execute(
                tables["followups"]
                .insert()
                .values(
                    id=1,
                    case_id=1,
                    uid="q" * 32,
                    asked_by=public.key_id,
                    sealed_question=question.ciphertext,
                    wrapped_keys=b64(question.wrapped_keys),
                    state="queued",
                    created_at=now,
                )
            )
            await connection.execute(
                tables["attachments"]
                .insert()
                .values(
                    uid="a" * 32,
                    case_id=1,
                    kind="text",
                    followup_id=1,
                    size=1,
                    sha256="x",
                    header=b"h",
                    created_at=now,
                )
            )
        # Through 0008 to head: the reviewer tools below read with today's models.
        await db.upgrade(scratch_database_url)
        sessionmaker = db.make_sessionmaker(engine)
        reviewer = Reviewer(sessionmaker, key)
        opened = await reviewer.opened("AAAA-BBBB")
        assert [n["note"] for n in opened.notes] == ["On the Ili list, row 88."]
        assert [q["question"] for q in await reviewer.followups.of("AAAA-BBBB")] == [
            "Is his ID 6543?"
        ]
        async with sessionmaker() as session:
            # The bot's inbox copy is held by its delivery key, and the answer kept its question.
            assert await wrapped_for(session, "question", "q" * 32, delivery_key_id=inbox.key_id)
            kinds = sorted(await session.scalars(select(SealedKey.kind)))
            assert kinds == ["case", "note", "question", "question"]
            answer = await session.execute(text("SELECT followup_id FROM attachments"))
            assert answer.scalar_one() == 1
        await db.downgrade(scratch_database_url, _before_one_key_table())
        async with engine.connect() as connection:
            notes = await connection.execute(text("SELECT wrapped_keys FROM case_notes"))
            assert set(json.loads(notes.scalar_one())) == {public.key_id}
            questions = await connection.execute(text("SELECT wrapped_keys FROM followups"))
            assert set(json.loads(questions.scalar_one())) == {public.key_id, inbox.key_id}
            keys = await connection.execute(text("SELECT case_id FROM case_keys"))
            assert keys.scalar_one() == 1
    finally:
        await engine.dispose()


# -- 0009: the plain-string states gain CHECKs; on SQLite every such table is copied --------

STATES_AS_ENUMS = "0009"


def _rows_of_a_case(now: Any) -> dict[str, list[dict[str, Any]]]:
    """A case at 0008 with one row in every table that points at it, and a broadcast."""
    case = {
        "locale": "en",
        "schema_version": 1,
        "payload": b"sealed",
        "detainee_count": 1,
        "attachment_count": 2,
        "consent_contact": True,
        "consent_sharing": "organisations",
        "grade": "corroborated",
        "created_at": now,
        "updated_at": now,
    }
    return {
        "accounts": [
            {
                "id": 1,
                "pseudonym": "p1",
                "role": "relative",
                "subscribed": True,
                "chat_ref": b"chat",
                "created_at": now,
                "updated_at": now,
            }
        ],
        "cases": [
            {
                **case,
                "id": 1,
                "uid": "c" * 32,
                "code": "AAAA-BBBB",
                "account_id": 1,
                "status": "needs_info",
                "urgent": True,
            },
            # A later report of the same detention: its duplicate_of is ON DELETE SET NULL.
            {
                **case,
                "id": 2,
                "uid": "d" * 32,
                "code": "CCCC-DDDD",
                "account_id": None,
                "status": "received",
                "duplicate_of": 1,
            },
        ],
        "blind_indexes": [{"id": 1, "case_id": 1, "value": "b" * 64}],
        "followups": [
            {
                "id": 1,
                "case_id": 1,
                "uid": "q" * 32,
                "asked_by": "k1",
                "elements": "date",
                "sealed_question": b"question",
                "state": "answered",
                "created_at": now,
                "sent_at": now,
                "answered_at": now,
            }
        ],
        "attachments": [
            {
                "id": 1,
                "uid": "a" * 32,
                "case_id": 1,
                "kind": "photo",
                "size": 3,
                "sha256": "s" * 64,
                "header": b"h",
                "created_at": now,
            },
            {
                "id": 2,
                "uid": "e" * 32,
                "case_id": 1,
                "kind": "text",
                "followup_id": 1,
                "size": 5,
                "sha256": "t" * 64,
                "header": b"h",
                "created_at": now,
            },
        ],
        "attachment_chunks": [
            {"attachment_id": 1, "seq": 0, "data": b"abc"},
            {"attachment_id": 2, "seq": 0, "data": b"12345"},
        ],
        "case_notes": [
            {
                "id": 1,
                "case_id": 1,
                "uid": "n" * 32,
                "reviewer": "k1",
                "status": "needs_info",
                "grade": "corroborated",
                "sealed_note": b"note",
                "created_at": now,
            }
        ],
        "notices": [
            {
                "id": 1,
                "case_id": 1,
                "status": "needs_info",
                "state": "sent",
                "created_at": now,
                "sent_at": now,
            }
        ],
        "broadcasts": [
            {
                "id": 1,
                "created_by": 1,
                "status": "scheduled",
                "texts": "{}",
                "fallback": "kk",
                "created_at": now,
                "scheduled_at": now,
            }
        ],
        "deliveries": [
            {
                "id": 1,
                "kind": "broadcast",
                "broadcast_id": 1,
                "account_id": 1,
                "locale": "en",
                "state": "pending",
                "attempts": 0,
                "updated_at": now,
            },
            {
                "id": 2,
                "kind": "notice",
                "subject_id": 1,
                "account_id": 1,
                "locale": "en",
                "state": "sent",
                "attempts": 1,
                "updated_at": now,
            },
        ],
    }


def _snapshot(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as plain values, in a stable order."""
    return {
        name: sorted(
            (dict(row) for row in connection.execute(text(f"SELECT * FROM {name}")).mappings()),  # noqa: S608 - table names from the database itself
            key=repr,
        )
        for name in sorted(_tables(connection))
    }


async def test_copying_the_tables_keeps_every_row_that_points_at_a_case(
    scratch_database_url: str,
) -> None:
    from datetime import UTC, datetime

    await db.upgrade(scratch_database_url, ONE_KEY_TABLE)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflect)
            for name, rows in _rows_of_a_case(datetime.now(UTC)).items():
                for row in rows:  # one by one: the rows name different columns
                    await connection.execute(tables[name].insert().values(**row))
        async with engine.connect() as connection:
            before = await connection.run_sync(_snapshot)
        assert all(before[name] for name in _rows_of_a_case(datetime.now(UTC)))

        await db.upgrade(scratch_database_url, STATES_AS_ENUMS)
        async with engine.connect() as connection:
            assert await connection.run_sync(_snapshot) == before
            checks = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_check_constraints("cases")}
            )
            assert {"ck_cases_case_status", "ck_cases_grade", "ck_cases_sharing"} <= checks

        await db.downgrade(scratch_database_url, ONE_KEY_TABLE)
        async with engine.connect() as connection:
            assert await connection.run_sync(_snapshot) == before
            checks = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_check_constraints("cases")}
            )
            assert checks == {"ck_cases_case_status"}
            if connection.dialect.name == "sqlite":  # the bot's own connections enforce again
                pragma = await connection.exec_driver_sql("PRAGMA foreign_keys")
                assert pragma.scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_value_outside_the_states_stops_the_upgrade_and_says_which(
    scratch_database_url: str,
) -> None:
    await db.upgrade(scratch_database_url, ONE_KEY_TABLE)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO broadcasts (status, texts, fallback, created_at)"
                    " VALUES ('paused', '{}', 'kk', CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(RuntimeError, match=r"broadcasts\.status holds \['paused'\]"):
            await db.upgrade(scratch_database_url, STATES_AS_ENUMS)
        assert await db.current_revision(engine) == ONE_KEY_TABLE
    finally:
        await engine.dispose()


async def test_on_sqlite_a_row_pointing_at_nothing_stops_the_upgrade(
    scratch_database_url: str,
) -> None:
    if not scratch_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps its foreign keys on while migrating")
    await db.upgrade(scratch_database_url, ONE_KEY_TABLE)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.connect() as connection:
            # Only a connection with foreign keys off can write such a row; migrating runs so.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.execute(
                text("INSERT INTO blind_indexes (case_id, value) VALUES (99, 'orphan')")
            )
            await connection.commit()
        with pytest.raises(RuntimeError, match="pointing at nothing"):
            await db.upgrade(scratch_database_url, STATES_AS_ENUMS)
        # The revision was one transaction: not even the copy of `cases` it began is left.
        assert await db.current_revision(engine) == ONE_KEY_TABLE
        async with engine.connect() as connection:
            assert not {t for t in await connection.run_sync(_tables) if t.startswith("_alembic")}
    finally:
        await engine.dispose()


# -- 0010: times on a relative's rows keep only the day ------------------------------------

ROUND_CASE_TIMES = "0010"


async def test_times_on_her_rows_are_rounded_to_the_day_and_the_teams_are_not(
    scratch_database_url: str,
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    exact = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
    rounded = {
        "accounts": {"created_at", "updated_at"},
        "cases": {"created_at", "updated_at"},
        "attachments": {"created_at"},
        "notices": {"created_at", "sent_at"},
        "followups": {"sent_at", "answered_at"},
    }

    def utc(value: datetime) -> datetime:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    await db.upgrade(scratch_database_url, STATES_AS_ENUMS)
    engine = db.create_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflect)
            for name, rows in _rows_of_a_case(exact).items():
                for row in rows:
                    await connection.execute(tables[name].insert().values(**row))
        await db.upgrade(scratch_database_url, ROUND_CASE_TIMES)
        async with engine.connect() as connection:
            seen = 0
            for name in _rows_of_a_case(exact):
                for row in (await connection.execute(select(tables[name]))).mappings():
                    for column, value in row.items():
                        if not isinstance(value, datetime):
                            continue
                        seen += 1
                        wanted = exact.replace(hour=0, minute=0, second=0, microsecond=0)
                        if column not in rounded.get(name, set()):
                            wanted = exact  # the team's: notes, questions asked, broadcasts
                        assert utc(value) == wanted, (name, column, value)
            assert seen >= 18
        await db.downgrade(scratch_database_url, STATES_AS_ENUMS)  # a no-op, and allowed
        assert await db.current_revision(engine) == STATES_AS_ENUMS
    finally:
        await engine.dispose()


# -- 0011: a relative's old audit rows name no one, and the chain is hashed anew -------------


async def _audit_rows(url: str, rows: list[tuple[str, str, str | None]]) -> None:
    """Append rows (actor, action, target) at 15:09 today, hashed as the bot does."""
    from datetime import UTC, datetime

    from bot.models import AuditEntry
    from bot.services.audit import GENESIS, _digest

    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            previous = GENESIS
            at = datetime.now(UTC).replace(hour=15, minute=9, second=26, microsecond=535897)
            for actor, action, target in rows:
                entry = AuditEntry(
                    at=at,
                    actor=actor,
                    action=action,
                    target=target,
                    detail="{}",
                    prev_hash=previous,
                )
                entry.hash = _digest(entry)
                await connection.execute(
                    text(
                        "INSERT INTO audit_log (at, actor, action, target, detail, prev_hash, hash)"
                        " VALUES (:at, :actor, :action, :target, :detail, :prev, :hash)"
                    ),
                    {
                        "at": at,
                        "actor": actor,
                        "action": action,
                        "target": target,
                        "detail": "{}",
                        "prev": previous,
                        "hash": entry.hash,
                    },
                )
                previous = entry.hash
    finally:
        await engine.dispose()


async def test_0011_takes_her_pseudonym_out_of_old_audit_rows(scratch_database_url: str) -> None:
    from bot.services.audit import verify_chain

    url = scratch_database_url
    await db.upgrade(url, "0010")
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO accounts (pseudonym, role, subscribed, created_at, updated_at)"
                " VALUES ('staffpseudonym', 'admin', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    await _audit_rows(
        url,
        [
            ("cli", "role.granted", "staffpseudo"),
            ("herpseudonym", "case.withdrawn", "K7QF-M2XD"),
            ("herpseudonym", "followup.answered", "K7QF-M2XD"),
            ("herpseudonym", "refused", None),
            ("staffpseudonym", "refused", None),
            ("abcd1234", "case.status", "K7QF-M2XD"),
        ],
    )
    await db.upgrade(url, "0011")
    try:
        async with engine.connect() as connection:
            rows = list(
                await connection.execute(
                    text("SELECT actor, action, at FROM audit_log ORDER BY id")
                )
            )
        assert [(r[0], r[1]) for r in rows] == [
            ("cli", "role.granted"),
            ("relative", "case.withdrawn"),
            ("relative", "followup.answered"),
            ("relative", "refused"),
            ("staffpseudonym", "refused"),
            ("abcd1234", "case.status"),
            ("system", "audit.rechained"),
        ]
        assert "herpseudonym" not in str(rows)
        for actor, _action, at in rows[1:4]:
            if isinstance(at, str):  # SQLite hands back its text
                assert at.startswith(at[:10]) and "00:00:00" in at, at
            else:
                assert (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0)
            assert actor == "relative"
        assert "15:09:26" in str(rows[4][2]) or getattr(rows[4][2], "minute", None) == 9
        from sqlalchemy.ext.asyncio import AsyncSession

        async with AsyncSession(engine) as session:
            report = await verify_chain(session)
        assert report.first_broken is None and report.rows == 7
    finally:
        await engine.dispose()


async def test_0011_stops_on_a_broken_chain_and_changes_nothing(scratch_database_url: str) -> None:
    import pytest

    url = scratch_database_url
    await db.upgrade(url, "0010")
    await _audit_rows(url, [("herpseudonym", "case.withdrawn", "K7QF-M2XD"), ("cli", "x", None)])
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE audit_log SET target = 'ZZZZ-ZZZZ' WHERE id = 1"))
        with pytest.raises(RuntimeError, match="audit log is broken at row 1"):
            await db.upgrade(url, "0011")
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT actor FROM audit_log ORDER BY id"))
            actors = [r[0] for r in found]
            assert actors == ["herpseudonym", "cli"]
            assert await db.current_revision(engine) == "0010"
    finally:
        await engine.dispose()


# -- 0012: files' hashes and sizes sealed in their records; no blind indexes ----------------


async def test_0012_drops_plain_hashes_and_blind_indexes_and_old_files_still_read(
    scratch_database_url: str,
) -> None:
    """A file that arrived before 0012 has no sealed record: reviewer tools take its hash and
    size from the sealed payload (the case page, exports) or from the file itself."""
    import hashlib
    import io
    import json
    from datetime import UTC, datetime

    from bot.crypto import StreamSealer, seal
    from bot.reviewing.cases import Reviewer
    from bot.reviewing.keys import ReviewerKey

    url = scratch_database_url
    key = ReviewerKey.generate()
    public = key.public()
    now = datetime.now(UTC)
    photo, answer = b"\xff\xd8\xff old photo", b"his ID is 6543"
    payload = {
        "code": "AAAA-BBBB",
        "submitted_at": "2026-11-01T10:00:00+00:00",
        "locale": "en",
        "testifier": {},
        "detainees": [{"name": "Erlan Nurgaliuly"}],
        "evidence": [{"uid": "a" * 32, "kind": "photo"}],
        "attachments": [
            {"uid": "a" * 32, "kind": "photo", "size": len(photo), "sha256": "ab" * 32}
        ],
    }
    case = seal(json.dumps(payload).encode(), [public], object_id="c" * 32, kind="case")
    await db.upgrade(url, "0011")
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflect)
            rows = {
                "recipients": [
                    {
                        "id": 1,
                        "key_id": public.key_id,
                        "suite": public.suite,
                        "public_key": public.public_bytes,
                        "label": "",
                        "active": True,
                        "added_at": now,
                    }
                ],
                **_rows_of_a_case(now),  # a photo and a written answer, a blind index
            }
            del rows["case_notes"]  # not sealed for real: the case is opened below
            rows["cases"][0]["payload"] = case.ciphertext
            rows["sealed_keys"] = [
                {
                    "kind": "case",
                    "object_uid": "c" * 32,
                    "recipient_id": 1,
                    "wrapped_key": case.wrapped_keys[public.key_id],
                }
            ]
            rows["attachment_chunks"] = []
            for row, data in zip(rows["attachments"], (photo, answer), strict=True):
                sealer = StreamSealer([public], object_id=row["uid"], kind="attachment")
                chunks = list(sealer.seal_chunks(io.BytesIO(data)))
                row.update(header=sealer.header(), size=len(data), sha256=sealer.plaintext_sha256)
                rows["attachment_chunks"] += [
                    {"attachment_id": row["id"], "seq": seq, "data": chunk}
                    for seq, chunk in enumerate(chunks)
                ]
                rows["sealed_keys"].append(
                    {
                        "kind": "attachment",
                        "object_uid": row["uid"],
                        "recipient_id": 1,
                        "wrapped_key": sealer.wrapped_keys[public.key_id],
                    }
                )
            for name, table_rows in rows.items():
                for row in table_rows:  # one by one: the rows name different columns
                    await connection.execute(tables[name].insert().values(**row))
    finally:
        await engine.dispose()

    await db.upgrade(url, "0012")
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            assert "blind_indexes" not in await connection.run_sync(_tables)
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("attachments")}
            )
            assert {"sha256", "size"}.isdisjoint(columns) and "record" in columns
            chunks = await connection.execute(text("SELECT count(*) FROM attachment_chunks"))
            assert chunks.scalar_one() == 2  # the files themselves are untouched
        # On to head: the reviewer tools below read with today's models.
        await db.upgrade(url)
        reviewer = Reviewer(db.make_sessionmaker(engine), key)
        opened = await reviewer.opened("AAAA-BBBB")
        # The case page and exports: what the sealed payload listed.
        assert opened.payload["attachments"][0]["sha256"] == "ab" * 32
        # The file itself: computed from its plaintext, as it is opened.
        record = await reviewer.attachment("e" * 32).record()
        assert (record.sha256, record.size) == (hashlib.sha256(answer).hexdigest(), len(answer))
        assert record.provenance == "follow-up" and record.mime.startswith("text/plain")
        assert (await reviewer.attachment("a" * 32).record()).size == len(photo)
        # Duplicates come from her own index, built here from the case.
        assert await reviewer.duplicates.search("Ерлан Нұрғалиұлы") == ["AAAA-BBBB"]

        await db.downgrade(url, "0011")
        async with engine.connect() as connection:
            again = await connection.execute(text("SELECT size, sha256 FROM attachments"))
            assert {tuple(row) for row in again} == {(0, "")}  # back, empty
            blind = await connection.execute(text("SELECT count(*) FROM blind_indexes"))
            assert blind.scalar_one() == 0
        await db.upgrade(url)
        assert await db.current_revision(engine) == db.head_revision()
    finally:
        await engine.dispose()


# -- 0013: sealed contacts, deliveries sealed to the bot's delivery key, answer tokens -------


async def test_0013_adds_sealed_contacts_and_its_downgrade_fails_what_it_cannot_keep(
    scratch_database_url: str,
) -> None:
    """Upgrade keeps every row (the bot seals earlier contacts at start: it has the key, a
    migration has not); downgrade deletes what the older code cannot open and marks the
    question and notice it would have sent as failed, never silently gone."""
    from datetime import UTC, datetime

    url = scratch_database_url
    now = datetime.now(UTC)
    await db.upgrade(url, "0012")
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO settings (name, value) VALUES ('inbox_public', 'old key')")
            )
        await db.upgrade(url, "0013")
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflect)
            rows = _rows_of_a_case(now)
            for name in ("blind_indexes", "attachments", "attachment_chunks", "case_notes"):
                rows.pop(name, None)
            rows["cases"][0]["contact"] = b"sealed contact"
            rows["followups"][0].update(state="queued", token_hash="h" * 64)
            rows["notices"] = [
                {"id": 1, "case_id": 1, "status": "verified", "state": "pending", "created_at": now}
            ]
            rows["deliveries"] = [
                {
                    "kind": kind,
                    "subject_id": 1,
                    "case_id": 1,
                    "uid": uid * 32,
                    "sealed": b"to the delivery key",
                    "locale": "",
                    "state": "pending",
                    "attempts": 0,
                    "updated_at": now,
                }
                for kind, uid in (("question", "u"), ("notice", "v"))
            ]
            rows["sealed_keys"] = [
                {
                    "kind": "contact",
                    "object_uid": "c" * 32,
                    "recipient_id": None,
                    "delivery_key_id": "k" * 16,
                    "wrapped_key": b"w",
                },
            ]
            rows["settings"] = [{"name": "delivery_cert", "value": "aigaq-delivery-cert-v1 x y"}]
            for name, table_rows in rows.items():
                if name not in tables:
                    continue
                for row in table_rows:
                    wanted = {k: v for k, v in row.items() if k in tables[name].c}
                    await connection.execute(tables[name].insert().values(**wanted))
            names = await connection.execute(text("SELECT name FROM settings"))
            assert set(names.scalars()) == {"delivery_cert"}  # the inbox key went
        await db.downgrade(url, "0012")
        async with engine.connect() as connection:
            deliveries = await connection.execute(text("SELECT count(*) FROM deliveries"))
            assert deliveries.scalar_one() == 0
            keys = await connection.execute(text("SELECT count(*) FROM sealed_keys"))
            assert keys.scalar_one() == 0
            states = await connection.execute(
                text("SELECT (SELECT state FROM followups), (SELECT state FROM notices)")
            )
            assert tuple(states.one()) == ("failed", "failed")
            settings = await connection.execute(text("SELECT count(*) FROM settings"))
            assert settings.scalar_one() == 0
            columns = await connection.run_sync(
                lambda sync: {
                    f"{table}.{c['name']}"
                    for table in ("cases", "followups", "deliveries")
                    for c in inspect(sync).get_columns(table)
                }
            )
            assert {"cases.contact", "followups.token_hash", "deliveries.uid"}.isdisjoint(columns)
        await db.upgrade(url)
    finally:
        await engine.dispose()


async def test_0014_moves_the_account_links_aside_and_drops_the_column(
    scratch_database_url: str,
) -> None:
    """The link of a case not withdrawn waits in `earlier_links` for the bot's next start (it
    sends her a receipt code and deletes the link); a withdrawn case's link is gone at once.
    Downgrade puts back what is still waiting."""
    url = scratch_database_url
    await db.upgrade(url, "0013")
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO accounts (id, pseudonym, role, subscribed, created_at, "
                    "updated_at) VALUES (1, :p, 'relative', false, :now, :now)"
                ),
                {"p": "p" * 64, "now": utcday()},
            )
            for number, status in ((1, "received"), (2, "withdrawn")):
                await connection.execute(
                    text(
                        "INSERT INTO cases (id, uid, code, account_id, status, locale, "
                        "schema_version, detainee_count, attachment_count, consent_contact, "
                        "consent_sharing, urgent, grade, created_at, updated_at) VALUES (:id, "
                        ":uid, :code, 1, :status, 'kk', 1, 1, 0, false, 'team', false, "
                        "'reported', :now, :now)"
                    ),
                    {
                        "id": number,
                        "uid": str(number) * 32,
                        "code": f"AAAA-000{number}",
                        "status": status,
                        "now": utcday(),
                    },
                )
        await db.upgrade(url, "0014")
        async with engine.connect() as connection:
            links = await connection.execute(text("SELECT case_id, account_id FROM earlier_links"))
            assert [tuple(row) for row in links] == [(1, 1)]
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("cases")}
            )
            assert "account_id" not in columns and "receipt_hash" in columns
        await db.downgrade(url, "0013")
        async with engine.connect() as connection:
            linked = await connection.execute(text("SELECT id, account_id FROM cases ORDER BY id"))
            assert [tuple(row) for row in linked] == [(1, 1), (2, None)]
        await db.upgrade(url)
    finally:
        await engine.dispose()


async def test_0015_adds_draft_pieces_and_refuses_to_downgrade_over_sealed_answers(
    scratch_database_url: str,
) -> None:
    """Upgrade adds the table of sealed answers; a downgrade would orphan every case made of
    them, so with one in it the downgrade stops and changes nothing."""
    url = scratch_database_url
    await db.upgrade(url, "0015")
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO draft_pieces (uid, sealed, created_at) "
                    "VALUES (:uid, :sealed, :day)"
                ),
                {"uid": "p" * 32, "sealed": b"sealed answer", "day": utcday()},
            )
        with pytest.raises(RuntimeError, match="would lose testimony"):
            await db.downgrade(url, "0014")
        async with engine.connect() as connection:
            count = await connection.execute(text("SELECT count(*) FROM draft_pieces"))
            assert count.scalar_one() == 1
            await connection.execute(text("DELETE FROM draft_pieces"))
            await connection.commit()
        await db.downgrade(url, "0014")
        async with engine.connect() as connection:
            assert "draft_pieces" not in await connection.run_sync(_tables)
    finally:
        await engine.dispose()


async def test_0021_follow_ups_name_their_person_and_old_ones_stay_unassigned(
    scratch_database_url: str,
) -> None:
    """A question asked before 0021 keeps its row, about no one (`person` empty) and with
    nothing confirmed; the downgrade drops both columns and keeps the question."""
    url = scratch_database_url
    await db.upgrade(url, "0020")
    engine = db.create_engine(url)
    now = utcday()
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflect)
            case = {
                "id": 1,
                "uid": "c" * 32,
                "code": "AAAA-BBBB",
                "status": "in_review",
                "locale": "en",
                "schema_version": 1,
                "payload": b"sealed",
                "detainee_count": 2,
                "attachment_count": 0,
                "consent_contact": True,
                "consent_sharing": "team",
                "urgent": False,
                "grade": "reported",
                "created_at": now,
                "updated_at": now,
            }
            columns = set(tables["cases"].c.keys())
            await connection.execute(
                tables["cases"].insert().values({k: v for k, v in case.items() if k in columns})
            )
            await connection.execute(
                tables["followups"]
                .insert()
                .values(
                    id=1,
                    case_id=1,
                    uid="q" * 32,
                    asked_by="k" * 16,
                    elements="date",
                    sealed_question=b"sealed question",
                    state="answered",
                    created_at=now,
                )
            )
        await db.upgrade(url, "0021")
        async with engine.connect() as connection:
            row = (
                await connection.execute(text("SELECT person, elements, confirmed FROM followups"))
            ).one()
            assert tuple(row) == (None, "date", "")
        await db.downgrade(url, "0020")
        async with engine.connect() as connection:
            tables = await connection.run_sync(_reflect)
            assert {"person", "confirmed"}.isdisjoint(tables["followups"].c.keys())
            count = await connection.execute(text("SELECT count(*) FROM followups"))
            assert count.scalar_one() == 1
    finally:
        await engine.dispose()
