"""a draft's files name no account: her draft names them

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 10:00:00.000000

`attachments.account_id` tied a file sent during a draft to her account until Submit, so a
seized server with its key could tell whose draft a file belongs to. The draft (encrypted
under the server key, with her other control values) now lists every file she sent; Submit,
/cancel and /forget find them there, and the daily purge deletes a draft's files the same
number of days after they arrived as before.

Downgrade adds the column back, empty: files of drafts in progress then belong to no account
and are purged with their draft's time, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Emptied before the drop: PostgreSQL's DROP COLUMN only hides the values (0014 says why).
    op.execute(sa.text("UPDATE attachments SET account_id = NULL WHERE account_id IS NOT NULL"))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_attachments_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_attachments_account_id"))
        batch_op.drop_column("account_id")


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_account_id"), ["account_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_account_id_accounts"),
            "accounts",
            ["account_id"],
            ["id"],
            ondelete="CASCADE",
        )
