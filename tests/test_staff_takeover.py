"""A hijacked admin account: it cannot make or unmake admins, and /team shows no full id."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.models import AuditEntry, Role
from bot.services.audit import verify_chain
from handlers.admin import masked
from tests.harness import Harness
from tests.test_admin_broadcast import ADMIN, NOT_UNDERSTOOD, RELATIVE, REVIEWER, make_team

SECOND_ADMIN = 123456789
ON_THE_SERVER = "only on the server"


async def refusals(harness: Harness, command: str) -> list[dict[str, str]]:
    async with harness.services.sessionmaker() as session:
        assert (await verify_chain(session)).first_broken is None
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "refused", AuditEntry.target == command)
        )
        return [json.loads(row.detail) for row in rows]


async def test_an_admin_cannot_grant_admin_from_telegram(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await admin.send_command("grant", f"admin {RELATIVE}")
    assert ON_THE_SERVER in admin.last_text
    assert f"aigaq roles grant admin {RELATIVE}" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE
    assert [(r["from"], r["to"]) for r in await refusals(harness, "grant")] == [
        ("relative", "admin")
    ]
    # Nor promote a reviewer, nor demote an admin by granting reviewer.
    await admin.send_command("grant", f"admin {REVIEWER}")
    await harness.services.roles.grant("cli", SECOND_ADMIN, Role.ADMIN)
    await admin.send_command("grant", f"reviewer {SECOND_ADMIN}")
    assert ON_THE_SERVER in admin.last_text
    assert await harness.services.roles.role_of(REVIEWER) == Role.REVIEWER
    assert await harness.services.roles.role_of(SECOND_ADMIN) == Role.ADMIN
    assert len(await refusals(harness, "grant")) == 3


async def test_an_admin_still_grants_and_revokes_reviewers(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await admin.send_command("grant", f"reviewer {RELATIVE}")
    await admin.press(admin.buttons()[0][1])  # "Yes" (tests/test_admin_confirm.py)
    assert "is now reviewer" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.REVIEWER
    await admin.send_command("revoke", str(RELATIVE))
    await admin.press(admin.buttons()[0][1])
    assert "has no role now" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE
    assert await refusals(harness, "grant") == await refusals(harness, "revoke") == []


async def test_an_admin_cannot_revoke_an_admin_from_telegram(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await harness.services.roles.grant("cli", SECOND_ADMIN, Role.ADMIN)
    for target in (SECOND_ADMIN, ADMIN):
        await admin.send_command("revoke", str(target))
        assert f"aigaq roles revoke {target}" in admin.last_text
        assert await harness.services.roles.role_of(target) == Role.ADMIN
    assert [(r["from"], r["to"]) for r in await refusals(harness, "revoke")] == [
        ("admin", "relative")
    ] * 2


async def test_the_refusal_is_in_the_admins_language(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await admin.send_command("language")
    await admin.press("lang:ru")
    await admin.send_command("grant", f"admin {RELATIVE}")
    assert "только на сервере" in admin.last_text
    assert f"aigaq roles grant admin {RELATIVE}" in admin.last_text


async def test_team_answers_only_admins_and_masks_ids(harness: Harness) -> None:
    team = await make_team(harness)
    await harness.services.roles.grant("cli", SECOND_ADMIN, Role.ADMIN)
    await team[REVIEWER].send_command("team")
    assert NOT_UNDERSTOOD in team[REVIEWER].last_text
    assert [r["role"] for r in await refusals(harness, "team")] == ["reviewer"]

    admin = team[ADMIN]
    await admin.send_command("team")
    assert "12•••••89" in admin.last_text
    for telegram_id in (SECOND_ADMIN, ADMIN, REVIEWER):
        assert str(telegram_id) not in admin.last_text


def test_masking_never_shows_a_whole_id() -> None:
    assert masked(1234567890) == "12••••••90"
    assert masked(123456789) == "12•••••89"
    assert masked(900) == "•••"
    assert masked(None) == "?"
