"""reviewers write by signed request: the table the bot applies them from

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 14:00:00.000000

Reviewer tools no longer write cases, notes, questions, links, wrapped keys or audit rows:
they insert a request signed with the reviewer's export-signing key (bot/crypto/requests.py),
and the bot verifies it against its roster and applies it. On PostgreSQL an INSERT into the
table wakes the bot's loop (the outbox's NOTIFY function of revision 0007), and
`aigaq db grant-reviewer ROLE` gives a reviewer's role SELECT on what she reads and INSERT
on this table only.

Downgrade drops the table: requests still waiting are lost (reviewers make them again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviewer_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        # A reviewer's role may insert any row: bounded here, before the bot reads one.
        sa.CheckConstraint(
            "length(document) <= 1048576", name=op.f("ck_reviewer_requests_document_size")
        ),
        sa.CheckConstraint("length(digest) = 64", name=op.f("ck_reviewer_requests_digest_hex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviewer_requests")),
        sa.UniqueConstraint("digest", name=op.f("uq_reviewer_requests_digest")),
    )
    op.create_index("ix_reviewer_requests_state", "reviewer_requests", ["state", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER reviewer_requests_wake_outbox AFTER INSERT ON reviewer_requests "
            "FOR EACH STATEMENT EXECUTE PROCEDURE aigaq_outbox_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS reviewer_requests_wake_outbox ON reviewer_requests")
    op.drop_index("ix_reviewer_requests_state", table_name="reviewer_requests")
    op.drop_table("reviewer_requests")
