"""The `aigaq` command as a volunteer meets it: clear words, never a traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.crypto import RecipientPublicKey, WrongPassphraseError
from bot.reviewing.keys import ReviewerKey
from bot.settings import SettingsError, load_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AIGAQ_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_run_without_token_explains_how_to_get_one() -> None:
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "AIGAQ_BOT_TOKEN" in result.output and "@BotFather" in result.output
    assert "Traceback" not in result.output


def test_malformed_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGAQ_DEFAULT_LOCALE", "fr")
    monkeypatch.setenv("AIGAQ_WEBHOOK_PORT", "ninety")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert any(line.startswith("AIGAQ_DEFAULT_LOCALE:") for line in lines)
    assert any(line.startswith("AIGAQ_WEBHOOK_PORT:") for line in lines)


def test_admins_and_database_url_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGAQ_ADMINS", "111, 222")
    monkeypatch.setenv("AIGAQ_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    settings = load_settings()
    assert settings.admins == [111, 222]
    assert settings.database_url.startswith("postgresql+asyncpg://")


def test_keys_generate_writes_a_protected_key_and_prints_the_public_line(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("correct horse battery staple\n")
    result = runner.invoke(
        app,
        [
            "keys",
            "generate",
            "--out",
            "reviewer.key",
            "--passphrase-file",
            str(passphrase),
            "--label",
            "Aliya",
        ],
    )
    assert result.exit_code == 0, result.output
    line, signing = result.stdout.strip().splitlines()[-2:]
    public = RecipientPublicKey.from_line(line)
    assert public.label == "Aliya"
    key_file = tmp_path / "reviewer.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = ReviewerKey.load(key_file, "correct horse battery staple")
    assert key.public().public_bytes == public.public_bytes
    # Her export-signing key, on the next line, for the roster (bundles name it as signer).
    assert signing == f"aigaq-sign-v1 {key.signing_public_hex()}"
    with pytest.raises(WrongPassphraseError):
        ReviewerKey.load(key_file, "wrong horse battery staple")
    again = runner.invoke(
        app, ["keys", "generate", "--out", "reviewer.key", "--passphrase-file", str(passphrase)]
    )
    assert again.exit_code == 2 and "exists already" in again.output


def test_short_passphrase_is_refused(tmp_path: Path) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("short")
    result = runner.invoke(
        app, ["keys", "generate", "--out", "r.key", "--passphrase-file", str(passphrase)]
    )
    assert result.exit_code == 2 and "12 characters" in result.output


def test_keys_server_makes_a_0600_key_once(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "server", "--out", "var/server.key"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "var/server.key").stat().st_mode) == 0o600
    again = runner.invoke(app, ["keys", "server", "--out", "var/server.key"])
    assert again.exit_code == 2 and "exists already" in again.output


def test_db_upgrade_and_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGAQ_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    behind = runner.invoke(app, ["db", "current"])
    assert behind.exit_code == 1 and "empty" in behind.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 0, current.output


def test_run_without_an_organisation_says_relatives_must_be_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIGAQ_BOT_TOKEN", "123456:TEST-token")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "AIGAQ_ORGANISATION" in result.output and "Traceback" not in result.output
    monkeypatch.setenv("AIGAQ_ORGANISATION", "Evil\u202eCorp")
    with pytest.raises(SettingsError, match="AIGAQ_ORGANISATION"):
        load_settings()
