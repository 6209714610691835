"""answers sealed as they arrive: the table of draft pieces

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 10:00:00.000000

Each typed or chosen answer is sealed to the reviewers when it arrives (kind "answer") and
kept in `draft_pieces`; the draft keeps references, and at Submit the case is a signed
manifest of its pieces. Drafts in progress at upgrade time keep their answers under the
server key (this migration has no server key to open them): the bot seals them as pieces at
her next answer or at her Submit, whichever comes first, or they expire with the draft.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draft_pieces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_draft_pieces_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_pieces")),
        sa.UniqueConstraint("uid", name=op.f("uq_draft_pieces_uid")),
    )
    with op.batch_alter_table("draft_pieces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_pieces_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    # Cases submitted since are manifests of pieces: without the pieces they cannot be read.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM draft_pieces")).scalar():
        raise RuntimeError(
            "draft_pieces holds sealed answers (cases submitted since revision 0015 are made "
            "of them): downgrading would lose testimony; nothing was changed"
        )
    with op.batch_alter_table("draft_pieces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_pieces_case_id"))
    op.drop_table("draft_pieces")
