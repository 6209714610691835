"""the plain-string states become enums: a CHECK on cases.grade and consent_sharing,
case_notes.status and grade, notices.status and state, followups.state, broadcasts.status

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:00:00.000000

On SQLite each table is copied (batch mode) to gain its CHECK; migrations/env.py turns
foreign keys off around the run, so dropping the old `cases` table cascades to nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as they are at this revision (bot/states.py and bot/models.py may move on).
CASE_STATUSES = ('received', 'in_review', 'needs_info', 'verified', 'rejected', 'withdrawn')
GRADES = ('reported', 'partially_verified', 'corroborated', 'documented')
SHARING = ('team', 'organisations', 'publish_anonymous', 'publish_named')

# table: (constraint, column, values); the names are the ones the models' naming convention
# gives the Enum types, so the head matches the models.
CHECKS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    'cases': [
        ('ck_cases_sharing', 'consent_sharing', SHARING),
        ('ck_cases_grade', 'grade', GRADES),
    ],
    'case_notes': [
        ('ck_case_notes_case_status', 'status', CASE_STATUSES),
        ('ck_case_notes_grade', 'grade', GRADES),
    ],
    'notices': [
        ('ck_notices_case_status', 'status', CASE_STATUSES),
        ('ck_notices_notice_state', 'state', ('pending', 'sent', 'failed')),
    ],
    'followups': [
        ('ck_followups_followup_state', 'state', ('queued', 'sent', 'answered', 'failed')),
    ],
    'broadcasts': [
        ('ck_broadcasts_broadcast_status', 'status', ('scheduled', 'sending', 'done', 'cancelled')),
    ],
}


def _refuse_unknown_values(table: str, column: str, values: tuple[str, ...]) -> None:
    # Say which value stops the upgrade, rather than leave a bare CHECK failure to decode.
    found = op.get_bind().execute(
        sa.select(sa.column(column)).distinct()
        .select_from(sa.table(table))
        .where(sa.column(column).not_in(values))
    ).scalars().all()
    if found:
        raise RuntimeError(
            f'{table}.{column} holds {sorted(found)!r}, none of {list(values)!r}: '
            'correct those rows, then upgrade again'
        )


def upgrade() -> None:
    for table, checks in CHECKS.items():
        for _, column, values in checks:
            _refuse_unknown_values(table, column, values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, values in checks:
                allowed = ', '.join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(op.f(name), f'{column} IN ({allowed})')


def downgrade() -> None:
    for table, checks in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _, _ in reversed(checks):
                batch_op.drop_constraint(op.f(name), type_='check')
