"""What a reviewer's own PostgreSQL role may do: read what her tools read, and add requests.

The bot owns the database and is its only writer. A reviewer who connects to it directly
(not through a copy) gets a role of her own, made by the operator (`CREATE ROLE … LOGIN`) and
given exactly this with `aigaq db grant-reviewer ROLE`: SELECT on the tables her tools open
cases from, and INSERT of a signed request's three columns into `reviewer_requests` — so a
stolen reviewer laptop cannot change a case, a key, a message or the audit log, nor mark its
own request applied. Nothing on accounts, drafts, deliveries, notices or broadcasts.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# Tables her tools read whole (sealed testimony, wrapped keys, the log, the rosters).
REVIEWER_READS = (
    "alembic_version",
    "cases",
    "draft_pieces",
    "attachments",
    "attachment_chunks",
    "sealed_keys",
    "recipients",
    "case_notes",
    "followups",
    "audit_log",
    "rosters",
    "settings",
)
# Of her requests she reads back only what the bot made of them.
REQUEST_READS = ("digest", "state", "reason", "applied_at")
REQUEST_WRITES = ("digest", "kind", "document")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(Exception):
    """Not a role name this command will put into SQL, or not PostgreSQL."""


def grants(role: str) -> list[str]:
    """The GRANT statements for one reviewer role (idempotent: granting twice is harmless)."""
    if not _ROLE.match(role):
        raise RoleError("a role name is lower-case letters, digits and _ (as CREATE ROLE made it)")
    quoted = f'"{role}"'
    return [
        # (A schema made anew, as by a restore into an empty database, grants no one USAGE.)
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT ON {', '.join(REVIEWER_READS)} TO {quoted}",
        f"GRANT SELECT ({', '.join(REQUEST_READS)}) ON reviewer_requests TO {quoted}",
        f"GRANT INSERT ({', '.join(REQUEST_WRITES)}) ON reviewer_requests TO {quoted}",
        f"GRANT USAGE ON SEQUENCE reviewer_requests_id_seq TO {quoted}",
    ]


async def grant_reviewer(engine: AsyncEngine, role: str) -> None:
    """Give an existing role what a reviewer's tools need, and nothing more."""
    if engine.dialect.name != "postgresql":
        raise RoleError(
            "roles are PostgreSQL's: on SQLite a reviewer works on a copy of the database and "
            "hands her requests file to the operator (`aigaq apply FILE`)"
        )
    statements = grants(role)
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
