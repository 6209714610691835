"""The schema changes only through Alembic: head matches the models, and every step reverses."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot import db
from bot.models import Base


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
        await db.upgrade(scratch_database_url, ONE_KEY_TABLE)
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
