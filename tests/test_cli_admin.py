"""`aigaq roles`, `aigaq broadcast` and `aigaq audit verify`, against the test database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from bot import db
from bot.cli import app
from bot.crypto import ServerKey
from bot.crypto.delivery import DeliveryKeyring
from bot.models import AuditEntry, Case
from bot.reviewing.keys import ReviewerKey
from tests.conftest import TestDatabase

runner = CliRunner()


@pytest.fixture
def environment(database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "server.key"
    ServerKey.generate_file(key)
    monkeypatch.setenv("AIGAQ_DATABASE_URL", database.url)
    monkeypatch.setenv("AIGAQ_SECRET_KEY_FILE", str(key))
    monkeypatch.chdir(tmp_path)


async def tamper(url: str) -> None:
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(update(AuditEntry).where(AuditEntry.id == 2).values(actor="x"))
    await engine.dispose()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.usefixtures("environment")
def test_roles_grant_list_revoke_and_the_audit_chain(database: TestDatabase) -> None:
    assert run("roles", "grant", "admin", "111")[0] == 0
    assert run("roles", "grant", "reviewer", "222")[0] == 0
    code, output = run("roles", "list")
    assert code == 0 and "admin     111" in output and "reviewer  222" in output
    assert run("roles", "revoke", "222") == (0, "222: reviewer -> relative\n")
    code, output = run("roles", "grant", "boss", "3")
    assert code == 2 and "reviewer or admin" in output
    code, output = run("audit", "verify")
    assert code == 0 and "3 rows" in output
    asyncio.run(tamper(database.url))
    code, output = run("audit", "verify")
    assert code == 1 and "row 2" in output


@pytest.mark.usefixtures("environment")
def test_broadcast_from_the_command_line() -> None:
    code, output = run("broadcast")
    assert code == 2 and "--kk" in output
    code, output = run("broadcast", "--kk", "Ертең 11:00", "--at", "tomorrow")
    assert code == 2 and "Almaty" in output
    code, output = run("broadcast", "--kk", "Ертең 11:00", "--en", "Tomorrow 11:00")
    assert code == 0 and "queued for 0 subscribers" in output


@pytest.mark.usefixtures("environment")
def test_keys_roster_sign_show_and_backup_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long enough passphrase")
    code, output = run(
        "keys", "generate", "--out", "r.key", "--passphrase-file", str(passphrase), "--x25519"
    )
    assert code == 0
    pub, signing = output.strip().splitlines()[-2:]
    (tmp_path / "recipients.txt").write_text(f"{pub} Aliya\n{signing}\n")
    key = ReviewerKey.load(tmp_path / "r.key", "a long enough passphrase")
    # The roster key, made on an admin's laptop; the bot's settings name its fingerprint.
    code, output = run("keys", "roster", "key", "--out", "roster-signing.key")
    assert code == 0 and "AIGAQ_ROSTER_KEY=" in output
    fingerprint = output.strip().splitlines()[-1].split("=", 1)[1]
    assert run("keys", "roster", "key", "--out", "roster-signing.key")[0] == 2  # never twice
    code, output = run("keys", "backup")
    assert code == 0 and "--backup " in output
    backup_key = output.split("fingerprint: ", 1)[1].split()[0]
    code, output = run(
        "keys", "roster", "sign", "--key", "roster-signing.key", "--version", "1",
        "--out", "roster.json", "--intake", "AB" * 32, "--organisation", "Witness Project",
        "--backup", backup_key,
    )  # fmt: skip
    assert code == 0 and key.public().fingerprint in output
    code, output = run(
        "keys", "roster", "sign", "--key", "roster-signing.key", "--version", "1",
        "--out", "roster.json",
    )  # fmt: skip
    assert code == 2 and "sign this one with a higher --version" in output
    monkeypatch.setenv("AIGAQ_ROSTER_KEY", fingerprint)
    code, output = run("keys", "roster", "show")
    assert code == 0 and "version 1" in output and "signed by the pinned roster key" in output
    assert key.public().fingerprint in output and "Aliya" in output
    assert f"the bot's intake key {'ab' * 32}" in output and "Witness Project" in output
    assert f"the bot's backup key {backup_key}" in output
    assert f"signs exports with {key.signing_public_hex()}" in output
    monkeypatch.setenv("AIGAQ_ROSTER_KEY", "ab" * 32)  # a roster signed by another key
    code, output = run("keys", "roster", "show")
    assert code == 2 and "not by the pinned roster key" in output
    monkeypatch.setenv("AIGAQ_ROSTER_KEY", fingerprint)
    code, output = run("keys", "list")
    assert code == 0
    code, output = run("backup", "--out", "db.backup")
    assert code == 0 and f"sealed and signed by {backup_key}" in output
    restore = ["restore", "db.backup", "--key", "r.key", "--passphrase-file", str(passphrase)]
    monkeypatch.setenv("AIGAQ_DATABASE_URL", fresh_database_url)
    code, output = run(*restore, "--signer", "cd" * 32)
    assert code == 2 and "not by the bot's backup key you pinned" in output
    code, output = run(*restore)  # pinned by the roster's backup key
    assert code == 0 and "restored" in output, output
    monkeypatch.delenv("AIGAQ_ROSTER_KEY")
    code, output = run(*restore)
    assert code == 2 and "no backup key is pinned: pass --signer" in output


@pytest.mark.usefixtures("environment")
def test_review_and_export_commands_without_cases(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long enough passphrase")
    assert run("keys", "generate", "--out", "r.key", "--passphrase-file", str(passphrase))[0] == 0
    key = ["--key", "r.key", "--passphrase-file", str(passphrase)]
    assert run("review", "list", *key) == (0, "")
    code, output = run("review", "show", "AAAA-BBBB", *key)
    assert code == 2 and "no case AAAA-BBBB" in output
    code, output = run("review", "set", "AAAA-BBBB", "finished", *key)
    assert code == 2 and "verified" in output
    code, output = run("export", "--format", "bundle", "--out", "b.zip", *key)
    assert code == 0 and "0 cases exported" in output
    code, output = run("export", "verify", "b.zip")
    assert code == 1 and "UNTRUSTED" in output and "1 files check out" in output
    signer = ReviewerKey.load(tmp_path / "r.key", "a long enough passphrase").signing_public_hex()
    code, output = run("export", "verify", "b.zip", "--signer", signer)
    assert code == 0 and "1 files verified" in output
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    code, output = run("export", "verify", "junk.zip")
    assert code == 1 and "not a zip" in output


@pytest.mark.usefixtures("environment")
def test_keys_server_rotate_from_the_command_line(tmp_path: Path) -> None:
    code, output = run("keys", "server", "--rotate")
    assert code == 0 and "server key rotated" in output
    key = ServerKey.load(tmp_path / "server.key")
    assert len(key.masters) == 2


@pytest.mark.usefixtures("environment")
def test_wgeid_draft_and_ask_missing_commands_explain_themselves(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long enough passphrase")
    assert run("keys", "generate", "--out", "r.key", "--passphrase-file", str(passphrase))[0] == 0
    key = ["--key", "r.key", "--passphrase-file", str(passphrase)]
    code, output = run("export", "--format", "wgeid", "--out", "d.odt", *key)
    assert code == 2 and "--case" in output
    code, output = run("export", "--format", "wgeid", "--case", "AAAA-BBBB", "--out", "d.odt", *key)
    assert code == 2 and "no case AAAA-BBBB" in output
    code, output = run("review", "ask-missing", "AAAA-BBBB", *key)
    assert code == 2 and "no case" in output


@pytest.mark.usefixtures("environment")
def test_keys_inbox_prints_the_fingerprint_reviewers_pin(tmp_path: Path) -> None:
    code, output = run("keys", "inbox")
    # The signing key that certifies the weekly delivery keys: made once, beside the server key.
    fingerprint = DeliveryKeyring(tmp_path / "delivery").fingerprint
    assert code == 0 and f"delivery signing key fingerprint: {fingerprint}" in output
    assert f"AIGAQ_INBOX_FINGERPRINT={fingerprint}" in output
    assert run("keys", "inbox") == (code, output)  # the same key, not a new one each time


@pytest.mark.usefixtures("environment")
def test_rewrap_duplicates_link_and_ask_explain_themselves(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long enough passphrase")
    assert run("keys", "generate", "--out", "r.key", "--passphrase-file", str(passphrase))[0] == 0
    key = ["--key", "r.key", "--passphrase-file", str(passphrase)]
    code, output = run("keys", "rewrap", "--to", "0000000000000000", *key)
    assert code == 2 and "full fingerprint" in output and "aigaq keys roster show" in output
    code, output = run("keys", "rewrap", "--to", "ab" * 32, *key)
    assert code == 2 and "no signed roster" in output and "nothing was rewrapped" in output
    assert run("review", "duplicates", *key) == (0, "")
    code, output = run("review", "link", "AAAA-BBBB", "--duplicate-of", "CCCC-DDDD", *key)
    assert code == 2 and "AAAA-BBBB" in output
    code, output = run("review", "ask", "AAAA-BBBB", "Which city?", *key)
    assert code == 2 and "no case AAAA-BBBB" in output


async def _a_case(url: str) -> None:
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Case).values(
                uid="e" * 32, code="K7QF-M2XD", status="received", locale="en", payload=b"sealed"
            )
        )
    await engine.dispose()


async def _the_case(url: str) -> tuple[str, bytes | None, list[str]]:
    engine = db.create_engine(url)
    async with engine.connect() as connection:
        status, payload = (await connection.execute(select(Case.status, Case.payload))).one()
        actors = list(
            await connection.scalars(
                select(AuditEntry.actor).where(AuditEntry.action == "case.withdrawn")
            )
        )
    await engine.dispose()
    return str(status), payload, actors


@pytest.mark.usefixtures("environment")
def test_the_team_withdraws_a_case_at_her_request(database: TestDatabase) -> None:
    """She lost her receipt code: the team withdraws by the case code, on the server, audited."""
    asyncio.run(_a_case(database.url))
    code, output = run("withdraw", "k7qf m2xd")
    assert code == 2 and "--yes" in output
    code, output = run("withdraw", "k7qf-m2xd", "--yes")
    assert code == 0 and output.startswith("K7QF-M2XD withdrawn")
    assert asyncio.run(_the_case(database.url)) == ("withdrawn", None, ["cli"])
    code, output = run("withdraw", "K7QF-M2XD", "--yes")
    assert code == 2 and "withdrawn already" in output


@pytest.mark.usefixtures("environment")
def test_keys_intake_prints_the_fingerprint_of_the_key_that_signs_manifests(
    tmp_path: Path,
) -> None:
    from bot.crypto.delivery import DeliveryKeyring
    from bot.crypto.intake import IntakeSigner

    code, output = run("keys", "intake")
    fingerprint = IntakeSigner(tmp_path / "intake.key").fingerprint
    assert code == 0 and f"intake signing key fingerprint: {fingerprint}" in output
    assert f"AIGAQ_INTAKE_FINGERPRINT={fingerprint}" in output
    assert run("keys", "intake") == (code, output)  # the same key, not a new one each time
    # Its own key, not the one that certifies delivery keys (the roster's separate roles).
    assert fingerprint != DeliveryKeyring(tmp_path / "delivery").fingerprint


@pytest.mark.usefixtures("environment")
def test_reviewer_commands_never_load_the_server_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a reviewer's machine there is no server key: her commands work without it, and
    only the server's own commands ask for it."""
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("a long enough passphrase")
    assert run("keys", "generate", "--out", "r.key", "--passphrase-file", str(passphrase))[0] == 0
    monkeypatch.setenv("AIGAQ_SECRET_KEY_FILE", str(tmp_path / "not-here" / "server.key"))
    key = ["--key", "r.key", "--passphrase-file", str(passphrase)]
    assert run("review", "list", *key) == (0, "")
    code, output = run("export", "--format", "jsonl", "--out", "cases.jsonl", *key)
    assert code == 0 and "0 cases exported" in output
    code, output = run("review", "duplicates", *key)
    assert code == 0
    code, output = run("roles", "list")
    assert code == 2 and "server key" in output and "does not exist" in output
