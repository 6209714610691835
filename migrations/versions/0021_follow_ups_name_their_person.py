"""follow-up questions name their person and the elements a reviewer confirmed

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 14:00:00.000000

A follow-up question was about the whole case: any answer, "I don't know" included, made the
UN elements it asked for present for every detained person. `followups.person` is the person
it asks about (1-based, within the case's detainee count; the bot checks it from the signed
question request), and `followups.confirmed` the elements a reviewer confirmed her answer
gives (a signed `confirm` request): only those count, and only for that person. Questions
asked before stay unassigned (`person` NULL) and confirm nothing until a reviewer assigns
and confirms them.

Downgrade drops both columns: answers then count as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("confirmed", sa.String(length=128), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("confirmed")
        batch_op.drop_column("person")
