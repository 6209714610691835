"""one table of wrapped keys for every sealed object: case_keys and the JSON wrapped_keys
of case notes and follow-up questions move into sealed_keys

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 06:00:00.000000
"""

import base64
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

sealed_keys = sa.table(
    'sealed_keys',
    sa.column('kind', sa.String),
    sa.column('object_uid', sa.String),
    sa.column('recipient_id', sa.Integer),
    sa.column('delivery_key_id', sa.String),
    sa.column('wrapped_key', sa.LargeBinary),
)
case_keys = sa.table(
    'case_keys',
    sa.column('recipient_id', sa.Integer),
    sa.column('case_id', sa.Integer),
    sa.column('attachment_id', sa.Integer),
    sa.column('wrapped_key', sa.LargeBinary),
)
recipients = sa.table('recipients', sa.column('id', sa.Integer), sa.column('key_id', sa.String))
cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('uid', sa.String))
attachments = sa.table('attachments', sa.column('id', sa.Integer), sa.column('uid', sa.String))
# The two tables whose keys were JSON {key_id: base64}, with the kind their objects are sealed as.
JSON_KEYS = {
    'note': sa.table(
        'case_notes', sa.column('id', sa.Integer), sa.column('uid', sa.String),
        sa.column('wrapped_keys', sa.Text),
    ),
    'question': sa.table(
        'followups', sa.column('id', sa.Integer), sa.column('uid', sa.String),
        sa.column('wrapped_keys', sa.Text),
    ),
}


def upgrade() -> None:
    op.create_table('sealed_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('object_uid', sa.String(length=32), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('delivery_key_id', sa.String(length=32), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('(recipient_id IS NULL) <> (delivery_key_id IS NULL)', name=op.f('ck_sealed_keys_one_holder')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_sealed_keys_recipient_id_recipients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_keys')),
    sa.UniqueConstraint('kind', 'object_uid', 'delivery_key_id', name='uq_sealed_keys_delivery'),
    sa.UniqueConstraint('kind', 'object_uid', 'recipient_id', name='uq_sealed_keys_reviewer')
    )
    with op.batch_alter_table('sealed_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sealed_keys_recipient_id'), ['recipient_id'], unique=False)

    bind = op.get_bind()
    # Case payloads and files: from case_keys, named by their object's uid.
    for kind, objects, column in (
        ('case', cases, case_keys.c.case_id),
        ('attachment', attachments, case_keys.c.attachment_id),
    ):
        bind.execute(
            sealed_keys.insert().from_select(
                ['kind', 'object_uid', 'recipient_id', 'wrapped_key'],
                sa.select(
                    sa.literal(kind), objects.c.uid, case_keys.c.recipient_id,
                    case_keys.c.wrapped_key,
                ).join(objects, objects.c.id == column),
            )
        )
    # Notes and questions: one row per JSON entry. A key id that is no reviewer row is the
    # bot's inbox key (a question not yet sent), held as a delivery key.
    by_key_id = dict(bind.execute(sa.select(recipients.c.key_id, recipients.c.id)).all())
    for kind, table in JSON_KEYS.items():
        rows = []
        for uid, wrapped_keys in bind.execute(sa.select(table.c.uid, table.c.wrapped_keys)):
            for key_id, wrapped in json.loads(wrapped_keys or '{}').items():
                recipient = by_key_id.get(key_id)
                rows.append({
                    'kind': kind,
                    'object_uid': uid,
                    'recipient_id': recipient,
                    'delivery_key_id': None if recipient is not None else key_id,
                    'wrapped_key': base64.b64decode(wrapped),
                })
        if rows:
            bind.execute(sealed_keys.insert(), rows)

    # ALTER TABLE … DROP COLUMN, never a copy of the table: on SQLite, dropping the old
    # followups table would set every answer's followup_id to NULL (ON DELETE SET NULL).
    for table_name in ('followups', 'case_notes'):
        with op.batch_alter_table(table_name, schema=None, recreate='never') as batch_op:
            batch_op.drop_column('wrapped_keys')

    with op.batch_alter_table('case_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_keys_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_case_keys_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_keys_attachment_id'))

    op.drop_table('case_keys')


def downgrade() -> None:
    op.create_table('case_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('(case_id IS NULL) <> (attachment_id IS NULL)', name=op.f('ck_case_keys_one_object')),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_case_keys_attachment_id_attachments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_keys_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_case_keys_recipient_id_recipients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_keys')),
    sa.UniqueConstraint('recipient_id', 'case_id', 'attachment_id', name='uq_case_keys_object')
    )
    with op.batch_alter_table('case_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_keys_attachment_id'), ['attachment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_keys_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_keys_recipient_id'), ['recipient_id'], unique=False)

    bind = op.get_bind()
    for table_name in ('case_notes', 'followups'):
        with op.batch_alter_table(table_name, schema=None, recreate='never') as batch_op:
            batch_op.add_column(sa.Column('wrapped_keys', sa.Text(), nullable=False, server_default='{}'))
        if bind.dialect.name != 'sqlite':  # SQLite would copy the table to drop a default
            op.alter_column(table_name, 'wrapped_keys', server_default=None)

    for kind, objects, column in (
        ('case', cases, 'case_id'),
        ('attachment', attachments, 'attachment_id'),
    ):
        bind.execute(
            case_keys.insert().from_select(
                ['recipient_id', column, 'wrapped_key'],
                sa.select(
                    sealed_keys.c.recipient_id, objects.c.id, sealed_keys.c.wrapped_key
                )
                .join(objects, objects.c.uid == sealed_keys.c.object_uid)
                .where(sealed_keys.c.kind == kind, sealed_keys.c.recipient_id.is_not(None)),
            )
        )
    key_ids = dict(bind.execute(sa.select(recipients.c.id, recipients.c.key_id)).all())
    for kind, table in JSON_KEYS.items():
        found: dict[str, dict[str, str]] = {}
        for uid, recipient, delivery, wrapped in bind.execute(
            sa.select(
                sealed_keys.c.object_uid, sealed_keys.c.recipient_id,
                sealed_keys.c.delivery_key_id, sealed_keys.c.wrapped_key,
            ).where(sealed_keys.c.kind == kind)
        ):
            holder = key_ids[recipient] if recipient is not None else delivery
            found.setdefault(uid, {})[holder] = base64.b64encode(wrapped).decode()
        for uid, keys in found.items():
            bind.execute(
                table.update().where(table.c.uid == uid).values(wrapped_keys=json.dumps(keys))
            )

    with op.batch_alter_table('sealed_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sealed_keys_recipient_id'))

    op.drop_table('sealed_keys')
