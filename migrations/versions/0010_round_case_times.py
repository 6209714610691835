"""times on a relative's rows keep only the day: what the bot now writes (bot.models.utcday),
done to the rows written before

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:00:00.000000

Data only: the columns keep their types. Each value becomes midnight UTC of its day; the
exact submit time stays sealed inside each case's payload.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns docs/data.md marks "rounded to the day", as they are at this revision.
ROUNDED: dict[str, tuple[str, ...]] = {
    'accounts': ('created_at', 'updated_at'),
    'cases': ('created_at', 'updated_at'),
    'attachments': ('created_at',),
    'notices': ('created_at', 'sent_at'),
    'followups': ('sent_at', 'answered_at'),
}


def _midnight(column: str, dialect: str) -> str:
    if dialect == 'postgresql':
        return f"date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    # SQLite keeps a UTC time as text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'; SQLAlchemy's format.
    return f"substr({column}, 1, 10) || ' 00:00:00.000000'"


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in ROUNDED.items():
        for column in columns:
            bind.exec_driver_sql(
                f'UPDATE {table} SET {column} = {_midnight(column, bind.dialect.name)} '  # noqa: S608 - names from this file
                f'WHERE {column} IS NOT NULL'
            )


def downgrade() -> None:
    # Nothing to undo: the exact times are gone (that is the point), and a day is a valid time.
    pass
