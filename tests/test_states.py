"""A state column holds one of its enum's values: the code's lists agree, the database refuses
anything else."""

from __future__ import annotations

import typing

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot import case, choices
from bot.reviewing import cases as reviewing_cases
from bot.reviewing import decisions
from bot.states import Grade, Sharing
from tests.conftest import TestDatabase

# Every column that holds a fixed set of values, and one value it may hold.
STATE_COLUMNS = [
    ("cases", "status", "verified"),
    ("cases", "grade", "documented"),
    ("cases", "consent_sharing", "publish_named"),
    ("case_notes", "status", "rejected"),
    ("case_notes", "grade", "partially_verified"),
    ("notices", "status", "withdrawn"),
    ("notices", "state", "failed"),
    ("followups", "state", "answered"),
    ("broadcasts", "status", "cancelled"),
    ("deliveries", "state", "blocked"),
    ("accounts", "role", "admin"),
]


def test_the_consent_a_relative_chooses_is_a_value_the_database_takes() -> None:
    assert typing.get_args(case.Sharing) == tuple(Sharing)
    assert tuple(value for value, _ in choices.SHARING) == tuple(Sharing)


def test_the_grades_a_reviewer_may_give_are_the_databases() -> None:
    assert tuple(Grade) == decisions.GRADES
    assert tuple(Grade) == reviewing_cases.GRADES


async def test_a_value_outside_its_enum_is_refused(database: TestDatabase) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO accounts (id, pseudonym, role, subscribed, created_at, updated_at)"
                " VALUES (1, 'p1', 'relative', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO cases (id, uid, code, status, locale, schema_version,"
                " detainee_count, attachment_count, consent_contact, consent_sharing, grade,"
                " urgent, created_at, updated_at) VALUES (1, :uid, 'AAAA-BBBB', 'received',"
                " 'en', 1, 1, 0, true, 'team', 'reported', false, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            {"uid": "c" * 32},
        )
        await connection.execute(
            text(
                "INSERT INTO case_notes (case_id, uid, reviewer, status, grade, created_at)"
                " VALUES (1, :uid, 'k1', 'in_review', 'reported', CURRENT_TIMESTAMP)"
            ),
            {"uid": "n" * 32},
        )
        await connection.execute(
            text(
                "INSERT INTO notices (case_id, status, state, created_at)"
                " VALUES (1, 'in_review', 'pending', CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO followups (case_id, uid, asked_by, elements, sealed_question, state,"
                " created_at) VALUES (1, :uid, 'k1', '', :sealed, 'queued', CURRENT_TIMESTAMP)"
            ),
            {"uid": "q" * 32, "sealed": b"sealed"},
        )
        await connection.execute(
            text(
                "INSERT INTO broadcasts (status, texts, fallback, created_at)"
                " VALUES ('sending', '{}', 'kk', CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO deliveries (kind, account_id, locale, state, attempts, updated_at)"
                " VALUES ('notice', 1, 'en', 'pending', 0, CURRENT_TIMESTAMP)"
            )
        )
    for table, column, allowed in STATE_COLUMNS:
        update = text(f"UPDATE {table} SET {column} = :value")  # noqa: S608 - names listed above
        with pytest.raises(IntegrityError):
            async with database.engine.begin() as connection:
                await connection.execute(update, {"value": "bogus"})
        async with database.engine.begin() as connection:
            changed = await connection.execute(update, {"value": allowed})
            assert changed.rowcount == 1, (table, column)
