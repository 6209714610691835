"""each receipt hash signed together with its case's code

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 12:00:00.000000

`cases.receipt_hash` finds a case by the receipt she types; nothing tied the hash to its row,
so whoever can write to the database could move it to another case, and her /withdraw would
withdraw someone else's testimony. The bot now signs (code, receipt hash) with its intake key
and refuses a receipt whose signature does not hold. Cases submitted before are signed once,
at the next start (bot/services/receipts.py `bind_earlier`).

Downgrade drops the column: receipts then work unbound, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_sig", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("receipt_sig")
