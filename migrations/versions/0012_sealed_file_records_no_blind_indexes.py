"""sealed per-file records instead of plain attachments.sha256/size; no blind indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 07:10:00.000000

A seized server showed each file's SHA-256 (anyone holding the same photo could say which
case has it) and its exact size, and a keyed hash of every detainee's name that the server key
opens to a guess-and-check (the 2026-11 security review, C2). Now a file's SHA-256, size,
MIME type and name are in `attachments.record`, sealed (kind `file_record`) to the same holders
as the file, and duplicates are found from an index on each reviewer's own machine
(bot/reviewing/duplicates.py).

Existing files get no record: reviewer tools fall back to what the case payload lists for a
file, or to the decrypted file itself, so the plain columns are simply dropped. Downgrade adds
them back empty (size 0, SHA-256 '') and an empty `blind_indexes`; the records and their keys
are deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record", sa.LargeBinary(), nullable=True))
        batch_op.drop_column("sha256")
        batch_op.drop_column("size")

    with op.batch_alter_table("blind_indexes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blind_indexes_value"))
        batch_op.drop_index(batch_op.f("ix_blind_indexes_case_id"))
    op.drop_table("blind_indexes")


def downgrade() -> None:
    op.create_table(
        "blind_indexes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_blind_indexes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blind_indexes")),
    )
    with op.batch_alter_table("blind_indexes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blind_indexes_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_blind_indexes_value"), ["value"], unique=False)

    op.execute(sa.text("DELETE FROM sealed_keys WHERE kind = 'file_record'"))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("size", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("sha256", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.drop_column("record")
    # The model has no server defaults on these columns (as before 0012).
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.alter_column("size", server_default=None)
        batch_op.alter_column("sha256", server_default=None)
