"""the audit log's rows of what a relative did, written before she was called 'relative':
their actor becomes 'relative' and their time its day, and the chain is hashed anew

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 06:40:00.000000

Before this version, `case.withdrawn`, `followup.answered` and a relative's refused command
named her pseudonym at the exact time; with the server key, that pseudonym is her Telegram
id (docs/data.md). The rows keep what was done and to which case, and lose who and when.

The hash chain is checked first (the upgrade stops on a broken chain: run `aigaq audit
verify`, nothing is changed), then every row is hashed anew in order, and one more row,
`audit.rechained`, records the old head so the chain before this revision can still be
checked against copies kept elsewhere. Downgrade changes nothing back (who it was is gone).
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
HERS = ("case.withdrawn", "followup.answered", "account.forgotten")
KEEP = ("relative", "cli", "system")

audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
    sa.column("detail", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(
    prev: str, at: datetime, actor: str, action: str, target: str | None, detail: str
) -> str:
    # As bot/services/audit.py hashed a row at this revision (copied: a migration must not
    # change when the code does).
    body = json.dumps(
        [prev, _utc(at).isoformat(timespec="microseconds"), actor, action, target, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    rows = list(bind.execute(sa.select(audit).order_by(audit.c.id)))
    previous = GENESIS
    for row in rows:
        digest = _digest(row.prev_hash, row.at, row.actor, row.action, row.target, row.detail)
        if row.prev_hash != previous or digest != row.hash:
            raise RuntimeError(
                f"the audit log is broken at row {row.id}: nothing was changed. "
                "Run `aigaq audit verify` and find out why before upgrading."
            )
        previous = row.hash
    old_head = previous
    staff = {
        pseudonym
        for (pseudonym,) in bind.execute(
            sa.text("SELECT pseudonym FROM accounts WHERE role IN ('reviewer', 'admin')")
        )
    }
    hers = [
        row
        for row in rows
        if row.actor not in KEEP
        and (row.action in HERS or (row.action == "refused" and row.actor not in staff))
    ]
    if not hers:
        return
    changed = {row.id for row in hers}
    previous = GENESIS
    for row in rows:
        actor, at = row.actor, _utc(row.at)
        if row.id in changed:
            actor, at = "relative", at.replace(hour=0, minute=0, second=0, microsecond=0)
        digest = _digest(previous, at, actor, row.action, row.target, row.detail)
        bind.execute(
            sa.update(audit)
            .where(audit.c.id == row.id)
            .values(at=at, actor=actor, prev_hash=previous, hash=digest)
        )
        previous = digest
    now = datetime.now(UTC)
    detail = json.dumps({"old_head": old_head, "rows": len(changed)}, sort_keys=True)
    bind.execute(
        sa.insert(audit).values(
            at=now,
            actor="system",
            action="audit.rechained",
            target=None,
            detail=detail,
            prev_hash=previous,
            hash=_digest(previous, now, "system", "audit.rechained", None, detail),
        )
    )


def downgrade() -> None:
    # Who did it and when is gone on purpose; the rows stay as they are.
    pass
