"""one outbox for every message the bot starts: delivery kinds, a recipient that is an
account or a sealed blob, and (PostgreSQL) a NOTIFY that wakes every sender

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Any process that queues a delivery, a status notice or a follow-up question (the bot, the
# CLI, reviewer tools) wakes the senders listening on this channel; one NOTIFY per
# statement, and PostgreSQL folds identical ones within a transaction.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION aigaq_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('aigaq_outbox', TG_TABLE_NAME);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
WATCHED = ('deliveries', 'notices', 'followups')


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='broadcast', nullable=False))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sealed', sa.LargeBinary(), nullable=True))
        batch_op.alter_column('broadcast_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint('uq_deliveries_subject', ['kind', 'subject_id', 'account_id'])

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(NOTIFY_FUNCTION)
        for table in WATCHED:
            op.execute(
                f'CREATE TRIGGER {table}_wake_outbox AFTER INSERT ON {table} '
                'FOR EACH STATEMENT EXECUTE PROCEDURE aigaq_outbox_notify()'
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_wake_outbox ON {table}')
        op.execute('DROP FUNCTION IF EXISTS aigaq_outbox_notify()')

    # Rows the old schema cannot hold (no broadcast, or no account) go first.
    op.execute("DELETE FROM deliveries WHERE kind <> 'broadcast' OR account_id IS NULL")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deliveries_subject', type_='unique')
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('broadcast_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('sealed')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('kind')
