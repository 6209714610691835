"""/grant and /revoke ask first, with a one-time button for the admin who asked; the team is
never left without an admin, in Telegram or on the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.crypto import ServerKey
from bot.models import AuditEntry, Role
from bot.services.audit import verify_chain
from tests.conftest import TestDatabase
from tests.harness import Harness
from tests.test_admin_broadcast import ADMIN, RELATIVE, REVIEWER, make_team

SECOND_ADMIN = 123456789
EXPIRED = "has expired or was used already"


def confirmations(user: Any) -> list[str]:
    """The callback data of the role-change buttons on her newest message."""
    return [data for _, data in user.buttons() if data.startswith("role:")]


async def refused(harness: Harness, target: str) -> list[dict[str, str]]:
    async with harness.services.sessionmaker() as session:
        assert (await verify_chain(session)).first_broken is None
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "refused", AuditEntry.target == target)
        )
        return [json.loads(row.detail or "{}") for row in rows]


async def granted(harness: Harness) -> int:
    async with harness.services.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["role.granted", "role.revoked"]))
        )
        return len(list(rows))


async def test_grant_asks_first_and_only_yes_changes_the_role(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    changes = await granted(harness)
    await admin.send_command("grant", f"reviewer {RELATIVE}")
    assert f"Make {RELATIVE} a reviewer?" in admin.last_text
    yes, no = confirmations(admin)
    assert yes.startswith("role:y:") and no.startswith("role:n:")
    assert str(RELATIVE) not in yes  # the button holds a nonce, not the target
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE
    assert await granted(harness) == changes
    await admin.press(no)
    assert "Nothing was changed" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE

    await admin.send_command("grant", f"reviewer {RELATIVE}")
    await admin.press(confirmations(admin)[0])
    assert f"Done: {RELATIVE} is now reviewer (was relative)" in admin.last_text
    assert confirmations(admin) == []  # the buttons are gone once answered
    assert await harness.services.roles.role_of(RELATIVE) == Role.REVIEWER

    await admin.send_command("revoke", str(RELATIVE))
    assert f"Take the reviewer role away from {RELATIVE}?" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.REVIEWER
    await admin.press(confirmations(admin)[0])
    assert f"Done: {RELATIVE} has no role now (was reviewer)" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE
    # Nothing to confirm when nothing would change.
    await admin.send_command("revoke", str(RELATIVE))
    assert "has no role; nothing was changed" in admin.last_text
    assert confirmations(admin) == []


async def test_forged_replayed_and_borrowed_presses_change_nothing_and_are_audited(
    harness: Harness,
) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await harness.services.roles.grant("cli", SECOND_ADMIN, Role.ADMIN)
    second = harness.user(user_id=SECOND_ADMIN, language_code="en")

    # A made-up nonce.
    answer = await admin.press("role:y:made-up-nonce", 1)
    assert answer is not None and EXPIRED in answer.get("text", "")
    assert len(await refused(harness, "role.confirm")) == 1

    await admin.send_command("grant", f"reviewer {RELATIVE}")
    yes = confirmations(admin)[0]
    asked = admin.last.message_id
    # Another admin, and a reviewer, press her button: nothing happens.
    answer = await second.press(yes, asked)
    assert answer is not None and EXPIRED in answer.get("text", "")
    await team[REVIEWER].press(yes, asked)
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE
    assert len(await refused(harness, "role.confirm")) == 3  # two nonces, one role check
    # Hers still works, once.
    await admin.press(yes)
    assert await harness.services.roles.role_of(RELATIVE) == Role.REVIEWER
    await harness.services.roles.revoke("cli", RELATIVE)
    answer = await admin.press(yes, asked)
    assert answer is not None and EXPIRED in answer.get("text", "")
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE
    assert len(await refused(harness, "role.confirm")) == 4


async def test_an_admin_revoked_meanwhile_cannot_press_yes(harness: Harness) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await harness.services.roles.grant("cli", SECOND_ADMIN, Role.ADMIN)
    await admin.send_command("grant", f"reviewer {RELATIVE}")
    await harness.services.roles.revoke("cli", ADMIN)
    await admin.press(confirmations(admin)[0])
    assert await harness.services.roles.role_of(RELATIVE) == Role.RELATIVE


async def test_a_target_made_admin_meanwhile_is_not_demoted_by_the_old_yes(
    harness: Harness,
) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await admin.send_command("grant", f"reviewer {RELATIVE}")
    await harness.services.roles.grant("cli", RELATIVE, Role.ADMIN)
    await admin.press(confirmations(admin)[0])
    assert "only on the server" in admin.last_text
    assert await harness.services.roles.role_of(RELATIVE) == Role.ADMIN


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "You are the only admin"),
        ("ru", "Вы единственный администратор"),
        ("kk", "Сіз жалғыз әкімшісіз"),
    ],
)
async def test_the_last_admin_cannot_unmake_herself_in_telegram(
    harness: Harness, locale: str, expected: str
) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await admin.send_command("language")
    await admin.press(f"lang:{locale}")
    for command, args in (("revoke", str(ADMIN)), ("grant", f"reviewer {ADMIN}")):
        await admin.send_command(command, args)
        assert expected in admin.last_text, admin.last_text
        assert "aigaq roles grant admin" in admin.last_text
        assert confirmations(admin) == []
    assert await harness.services.roles.role_of(ADMIN) == Role.ADMIN
    reasons = [
        r["reason"] for r in await refused(harness, "revoke") + await refused(harness, "grant")
    ]
    assert reasons == ["the last admin"] * 2


async def test_with_a_second_admin_revoking_an_admin_still_goes_to_the_server(
    harness: Harness,
) -> None:
    team = await make_team(harness)
    admin = team[ADMIN]
    await harness.services.roles.grant("cli", SECOND_ADMIN, Role.ADMIN)
    await admin.send_command("revoke", str(ADMIN))
    assert f"aigaq roles revoke {ADMIN}" in admin.last_text
    assert await harness.services.roles.role_of(ADMIN) == Role.ADMIN


runner = CliRunner()


@pytest.fixture
def environment(database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "server.key"
    ServerKey.generate_file(key)
    monkeypatch.setenv("AIGAQ_DATABASE_URL", database.url)
    monkeypatch.setenv("AIGAQ_SECRET_KEY_FILE", str(key))
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("environment")
def test_the_command_line_never_leaves_the_team_without_an_admin() -> None:
    assert runner.invoke(app, ["roles", "grant", "admin", "111"]).exit_code == 0
    for args in (["roles", "revoke", "111"], ["roles", "grant", "reviewer", "111"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert "111 is the only admin" in result.output
        assert "aigaq roles grant admin ID" in result.output
    listed = runner.invoke(app, ["roles", "list"]).output
    assert "admin     111" in listed
    assert runner.invoke(app, ["roles", "grant", "admin", "222"]).exit_code == 0
    result = runner.invoke(app, ["roles", "revoke", "111"])
    assert (result.exit_code, result.output) == (0, "111: admin -> relative\n")
    assert runner.invoke(app, ["roles", "revoke", "222"]).exit_code == 2
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
