"""a relative's chat id sealed beside her case; questions and notices sealed to the bot's
delivery key; answer buttons carry a random token kept only as its SHA-256

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 08:00:00.000000

`cases.contact` holds her chat id and language sealed to the reviewers (kind `contact`);
`deliveries.uid` and `deliveries.case_id` name a delivery sealed to the bot's delivery key
(kind `delivery`: her chat id, language, code, text or status, answer token), which reviewer
tools write; `followups.token_hash` is the SHA-256 of the answer button's token. The bot's
inbox key (derived from the server key) is gone, and so is its published public key.

Existing rows need the server key, which a migration does not have: at start the bot seals
the contacts of consenting cases from the chat id kept on the account, and seals waiting
notices and questions to its delivery key (bot/services/contacts.py). Downgrade deletes the
sealed contacts, the sealed deliveries and their wrapped keys (the older code cannot open
them; a question or notice not yet sent by then is lost, and marked failed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact", sa.LargeBinary(), nullable=True))

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_followups_token_hash"), ["token_hash"])

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_deliveries_uid"), ["uid"])
        batch_op.create_index(batch_op.f("ix_deliveries_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="CASCADE",
        )

    op.execute(sa.text("DELETE FROM settings WHERE name = 'inbox_public'"))


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE followups SET state = 'failed' WHERE state IN ('queued', 'sent') AND id IN "
            "(SELECT subject_id FROM deliveries WHERE kind = 'question' AND uid IS NOT NULL)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE notices SET state = 'failed' WHERE state = 'pending' AND id IN "
            "(SELECT subject_id FROM deliveries WHERE kind = 'notice' AND uid IS NOT NULL)"
        )
    )
    op.execute(sa.text("DELETE FROM deliveries WHERE uid IS NOT NULL"))
    op.execute(sa.text("DELETE FROM sealed_keys WHERE kind IN ('contact', 'delivery')"))
    op.execute(sa.text("DELETE FROM settings WHERE name = 'delivery_cert'"))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_deliveries_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_deliveries_case_id"))
        batch_op.drop_constraint(batch_op.f("uq_deliveries_uid"), type_="unique")
        batch_op.drop_column("case_id")
        batch_op.drop_column("uid")

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_followups_token_hash"), type_="unique")
        batch_op.drop_column("token_hash")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("contact")
