"""the signed team rosters the bot has loaded, for reviewer tools to verify

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 11:00:00.000000

The bot seals only to the reviewers of a roster signed with the team's roster key
(bot/crypto/roster.py). It keeps each roster version it loads, as signed, so that reviewer
tools (which reach only the database) can verify the same roster against the roster key they
pinned, and seal notes and questions and rewrap cases only to its keys. A database writer can
delete or withhold a roster, never forge one; an older one is refused by the version each
reviewer's machine has seen.

Downgrade drops the table: the bot reads its roster from the file again, reviewer tools
then have nothing to verify and refuse to seal.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rosters",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rosters")),
    )


def downgrade() -> None:
    op.drop_table("rosters")
