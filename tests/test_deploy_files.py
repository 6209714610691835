"""The deployment files: what can be checked here is checked; Docker only where it runs."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

# What docs/deploy.md ("What stays on disk, and for how long") says PostgreSQL runs with, in
# compose.yaml and in deploy/postgresql-aigaq.conf alike.
POSTGRES_SETTINGS = {
    "wal_level": "minimal",
    "archive_mode": "off",
    "max_wal_senders": "0",
    "max_replication_slots": "0",
    "wal_keep_size": "0",
    "wal_recycle": "off",
    "min_wal_size": "32MB",
    "max_wal_size": "64MB",
    "checkpoint_timeout": "1min",
    "autovacuum": "on",
    "autovacuum_naptime": "15s",
    "autovacuum_vacuum_threshold": "0",
    "autovacuum_vacuum_scale_factor": "0",
}


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)  # noqa: S607
    return probe.returncode == 0


def test_the_image_runs_as_a_user_and_holds_no_secret() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER aigaq" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "i18n_tools compile" in dockerfile
    for secret in ("AIGAQ_BOT_TOKEN", "server.key", "roster.json"):
        assert secret not in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"secrets", "*.key", ".env", "var"} <= set(ignored)


def test_compose_takes_secrets_from_files() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    assert "postgres:16" in compose and "pgdata:" in compose
    assert "file: ./secrets/bot_token" in compose and "POSTGRES_PASSWORD_FILE" in compose
    assert "123456:" not in compose


def test_systemd_unit_is_hardened() -> None:
    unit = (ROOT / "deploy" / "aigaq.service").read_text()
    for line in (
        "User=aigaq",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "EnvironmentFile=/etc/aigaq/aigaq.env",
    ):
        assert line in unit


def _unit_settings() -> dict[str, str]:
    unit = (ROOT / "deploy" / "aigaq.service").read_text()
    settings: dict[str, str] = {}
    for line in unit.splitlines():
        if line and not line.startswith(("#", "[")):
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


def test_systemd_unit_keeps_the_bots_memory_off_the_disk() -> None:
    """docs/deploy.md: no core dump, no swap, a private /tmp; and no writable-and-executable
    memory (the whole server-side test suite passes under that restriction)."""
    settings = _unit_settings()
    assert settings["LimitCORE"] == "0"
    assert settings["MemorySwapMax"] == "0"
    assert settings["PrivateTmp"] == "yes"
    assert settings["MemoryDenyWriteExecute"] == "yes"


def _compose() -> dict[str, Any] | None:
    """compose.yaml parsed with PyYAML's safe loader, or None where PyYAML is missing."""
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        return None
    parsed = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(parsed, dict)
    return parsed


def _compose_postgres_flags() -> dict[str, str]:
    """The `-c name=value` flags compose.yaml passes to PostgreSQL."""
    parsed = _compose()
    if parsed is not None:
        command = parsed["services"]["db"]["command"]
        assert command[0] == "postgres" and command[1::2] == ["-c"] * (len(command) // 2)
        pairs = command[2::2]
    else:
        text = (ROOT / "compose.yaml").read_text()
        db = text.split("\n  db:\n", 1)[1].split("\nsecrets:\n", 1)[0]
        command = db.split("    command:\n", 1)[1].split("\n    ulimits:", 1)[0]
        items = [line.strip()[2:] for line in command.splitlines() if line.strip().startswith("- ")]
        assert items[0] == "postgres" and items[1::2] == ["-c"] * (len(items) // 2)
        pairs = items[2::2]
    return dict(pair.split("=", 1) for pair in pairs)


def test_compose_turns_core_dumps_off() -> None:
    parsed = _compose()
    if parsed is not None:
        for service in ("bot", "db"):
            assert parsed["services"][service]["ulimits"] == {"core": 0}
    else:
        text = (ROOT / "compose.yaml").read_text()
        bot, db = text.split("\n  db:\n", 1)
        for service in (bot, db):
            assert re.search(r"^    ulimits:\n      core: 0$", service, re.MULTILINE)


def test_compose_postgres_keeps_no_wal_archive_and_vacuums_soon() -> None:
    assert _compose_postgres_flags() == POSTGRES_SETTINGS


def test_compose_keeps_the_database_health_check_and_secrets() -> None:
    parsed = _compose()
    if parsed is None:
        pytest.skip("PyYAML is not installed")
    db = parsed["services"]["db"]
    assert "pg_isready" in db["healthcheck"]["test"][1]
    assert db["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/aigaq_db_password"
    assert parsed["services"]["bot"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_plain_ways_postgres_settings_are_composes() -> None:
    conf = (ROOT / "deploy" / "postgresql-aigaq.conf").read_text()
    settings = {}
    for line in conf.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    assert settings == POSTGRES_SETTINGS
    assert "deploy/postgresql-aigaq.conf" in DEPLOY_DOC.read_text()


def _section(doc: str, title: str) -> str:
    return doc.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_deploy_doc_says_what_stays_on_disk() -> None:
    section = _section(DEPLOY_DOC.read_text(), "What stays on disk, and for how long")
    for promise in (
        "secure_delete",
        "journal_size_limit=0",
        "wipe_traces",
        "VACUUM (FULL)",
        "LUKS",
        "LimitCORE=0",
        "core: 0",
        "swap",
        "--dir",
        "--temp-dir",
        "AIGAQ_TELEGRAM_API_URL",
        *(f"{name}={value}" for name, value in POSTGRES_SETTINGS.items()),
    ):
        assert promise in section, promise
    # What the doc names in the code is there.
    assert "PRAGMA secure_delete=ON" in (ROOT / "bot" / "db.py").read_text()
    assert "PRAGMA journal_size_limit=0" in (ROOT / "bot" / "db.py").read_text()
    assert "wipe_traces" in (ROOT / "bot" / "persistence.py").read_text()


def test_deploy_doc_has_the_runbooks() -> None:
    doc = DEPLOY_DOC.read_text()
    assert "## Backups made before this change" in doc
    token = _section(doc, "If the bot token is seized")
    steps = re.findall(r"^\d+\. \*\*(.+?)\*\*", token, re.MULTILINE)
    assert steps[:4] == [
        "Revoke the token.",
        "Put the new token in the secret.",
        "Restart the bot.",
        "Check.",
    ]
    for step in (
        "@BotFather",
        "/revoke",
        "aigaq doctor --webhook",
        "getWebhookInfo",
        "deleteWebhook",
        "aigaq broadcast",
        "exact @username",
        "money, passwords",
    ):
        assert step in token, step
    server = _section(doc, "If the server is seized")
    for step in (
        "docs/data.md",
        "docs/sealing.md",
        "aigaq keys server --rotate",
        "aigaq keys inbox",
        "AIGAQ_INBOX_FINGERPRINT",
        "Warn relatives",
    ):
        assert step in server, step


@pytest.mark.skipif(not docker_engine(), reason="no Docker engine on this machine")
def test_docker_compose_config_validates() -> None:
    result = subprocess.run(
        ["docker", "compose", "config", "--quiet"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed")
def test_dockerfile_lints_clean() -> None:
    result = subprocess.run(  # noqa: S603
        ["hadolint", str(ROOT / "Dockerfile")],  # noqa: S607
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode()


def test_both_ways_tell_the_bot_who_runs_it() -> None:
    """The bot refuses to start without AIGAQ_ORGANISATION: both deployments set it."""
    root = Path(__file__).parent.parent
    assert "AIGAQ_ORGANISATION: ${AIGAQ_ORGANISATION:?" in (root / "compose.yaml").read_text()
    guide = (root / "docs" / "deploy.md").read_text()
    assert "AIGAQ_ORGANISATION=Your Organisation" in guide


def test_both_ways_pin_the_roster_key() -> None:
    """The bot seals only to a roster signed by the key whose fingerprint its settings pin
    (bot/services/team.py): both deployments pin it and keep the version seen writable."""
    root = Path(__file__).parent.parent
    compose = (root / "compose.yaml").read_text()
    assert "AIGAQ_ROSTER_KEY: ${AIGAQ_ROSTER_KEY:?" in compose
    assert "AIGAQ_ROSTER_SEEN_FILE: /app/var/" in compose
    guide = (root / "docs" / "deploy.md").read_text()
    assert "AIGAQ_ROSTER_KEY=0b8d2f..." in guide
    assert "AIGAQ_ROSTER_SEEN_FILE=/opt/aigaq/var/" in guide
    assert "aigaq keys roster sign" in guide and "recipients.txt" not in compose


# -- the image's dependencies: hash-pinned in requirements.lock --------------------------------

LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, tuple[str, list[str]]]:
    """Each requirement of the lock file: its normalised name, its pinned version, its hashes."""
    text = LOCK.read_text().replace("\\\n", " ")
    locked: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split(" --")
        name, equals, version = requirement.strip().partition("==")
        assert equals and re.fullmatch(r"[\w.!+-]+", version), f"not pinned with ==: {line}"
        hashes = [option for option in options if option.startswith("hash=sha256:")]
        assert hashes, f"no --hash for {name}"
        locked[_normalised(name)] = (version, hashes)
    return locked


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_image_installs_only_hash_pinned_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs[0].endswith("--require-hashes --no-deps -r requirements.lock")
    assert "COPY requirements.lock" in dockerfile
    # The project itself adds nothing: no dependency, no build environment fetched unpinned.
    assert all("--no-deps" in line for line in installs)
    assert "--no-build-isolation" in installs[-1] and ".[postgres]" not in dockerfile
    assert "requirements.lock" not in (ROOT / ".dockerignore").read_text()


def test_the_lock_pins_every_line_with_a_hash() -> None:
    locked = _locked()
    assert len(locked) > 20
    assert all(len(hashes) >= 1 for _version, hashes in locked.values())


def test_the_lock_covers_every_dependency_of_the_image() -> None:
    """pyproject.toml's dependencies, the postgres extra the image installs, the build
    backend, and what their extras pull in, each at a version its specifier allows."""
    import tomllib
    from importlib import metadata

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["postgres"],
        *project["build-system"]["requires"],
    ]
    locked = _locked()
    linux = default_environment() | {
        "python_version": "3.11",
        "python_full_version": "3.11.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    for line in wanted:
        requirement = Requirement(line)
        name = _normalised(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name][0]), line
        # An extra (python-telegram-bot[webhooks]) names packages of its own: they are locked too.
        for extra in requirement.extras:
            for needed in map(Requirement, metadata.requires(requirement.name) or []):
                marker = needed.marker
                if marker is not None and marker.evaluate(linux | {"extra": extra}):
                    assert _normalised(needed.name) in locked, f"{needed.name} ({line})"
