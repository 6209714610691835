"""a large broadcast written in Telegram waits for a second admin: broadcasts.status gains
`pending_approval`

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 12:00:00.000000

One admin's Telegram account, taken over, could otherwise write to every subscriber in the
team's name. A broadcast that would reach more subscribers than
AIGAQ_BROADCAST_APPROVAL_ABOVE now waits, with no delivery rows, until another admin
approves (queued) or rejects (cancelled) it. Only the CHECK on the status changes; SQLite
copies the table to change it (batch mode).

Downgrade cancels the broadcasts still waiting (never sent unapproved), then restores the
CHECK without the new value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as they are at this revision (bot/states.py may move on); the name is the one
# the models' naming convention gives the Enum type, so the head matches the models.
CHECK = "ck_broadcasts_broadcast_status"
BEFORE = ("scheduled", "sending", "done", "cancelled")
AFTER = ("pending_approval", *BEFORE)


def _check(values: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), f"status IN ({allowed})")


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = CURRENT_TIMESTAMP"
            " WHERE status = 'pending_approval'"
        )
    )
    _check(BEFORE)
