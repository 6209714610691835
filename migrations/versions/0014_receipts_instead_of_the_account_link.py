"""receipts instead of the link between her account and her cases

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 09:00:00.000000

`cases.receipt_hash` holds SHA-256 of the receipt code she is given at Submit (unique); the
code itself is never stored. `/status` and `/withdraw` take the receipt code, from any
account. `cases.account_id` goes: the links of cases that are not withdrawn move to
`earlier_links`, which the bot empties at its next start (bot/services/earlier.py): a
relative it can still reach gets one message with a receipt code for each of her cases, and
the link is deleted either way.

Downgrade puts back what `earlier_links` still holds (nothing, once the bot has started) and
forgets the receipt hashes (the older code has no use for them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "earlier_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_earlier_links_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_earlier_links_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earlier_links")),
        sa.UniqueConstraint("case_id", name=op.f("uq_earlier_links_case_id")),
    )
    op.execute(
        sa.text(
            "INSERT INTO earlier_links (case_id, account_id) "
            "SELECT id, account_id FROM cases "
            "WHERE account_id IS NOT NULL AND status <> 'withdrawn'"
        )
    )
    # PostgreSQL's DROP COLUMN only hides a column: rows not written since would keep their
    # values on disk. Emptied first, every row gets a version without the link (the old
    # versions go at the next VACUUM: docs/deploy.md).
    op.execute(sa.text("UPDATE cases SET account_id = NULL WHERE account_id IS NOT NULL"))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_cases_receipt_hash"), ["receipt_hash"])
        batch_op.drop_constraint(batch_op.f("fk_cases_account_id_accounts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_account_id"))
        batch_op.drop_column("account_id")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_account_id"), ["account_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_account_id_accounts"),
            "accounts",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(batch_op.f("uq_cases_receipt_hash"), type_="unique")
        batch_op.drop_column("receipt_hash")
    op.execute(
        sa.text(
            "UPDATE cases SET account_id = "
            "(SELECT account_id FROM earlier_links WHERE earlier_links.case_id = cases.id)"
        )
    )
    op.drop_table("earlier_links")
