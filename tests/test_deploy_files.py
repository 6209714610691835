"""The deployment files: what can be checked here is checked; Docker only where it runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)  # noqa: S607
    return probe.returncode == 0


def test_the_image_runs_as_a_user_and_holds_no_secret() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER aigaq" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "i18n_tools compile" in dockerfile
    for secret in ("AIGAQ_BOT_TOKEN", "server.key", "recipients.txt"):
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
