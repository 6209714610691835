"""Backups are signed by the bot's backup key, and restored only when the pinned key signed
them and only into an empty database (security review M9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import bot.backup
from bot import db
from bot.backup import UNSIGNED_MAGIC, BackupError, backup, restore
from bot.crypto.backup_signer import BackupSigner
from bot.models import Case
from bot.reviewing.keys import ReviewerKey
from tests.conftest import TestDatabase
from tests.harness import Harness
from tests.test_intake_dialogue import PERSONS, walk_intake


async def _cases(url: str) -> list[str]:
    engine = db.create_engine(url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(Case.code)))
    finally:
        await engine.dispose()


def _refuse_to_decrypt(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record any attempt to open the sealed dump; a forged backup must never get there."""
    opened: list[object] = []
    monkeypatch.setattr(bot.backup, "open_file", lambda *args, **kw: opened.append(args))
    return opened


async def test_a_signed_backup_restores_into_a_new_database_with_the_pinned_signer(
    harness: Harness, tmp_path: Path, fresh_database_url: str
) -> None:
    code = await walk_intake(harness.user(user_id=6300), locale="kk", persons=PERSONS)
    signer = BackupSigner(harness.settings.backup_key())
    out = tmp_path / "aigaq.backup"
    await harness.stop()
    backup(harness.settings.database_url, out, [harness.reviewer.public()], signer)
    fresh = fresh_database_url
    pinned = signer.fingerprint.upper()  # as pasted: case and spacing do not matter
    backend = "postgresql" if fresh.startswith("postgresql") else "sqlite"
    assert await restore(fresh, out, harness.reviewer, signer=pinned) == backend
    assert await _cases(fresh) == [code]


def _another_signer(out: Path, tmp_path: Path, url: str, key: ReviewerKey) -> None:
    out.unlink()
    backup(url, out, [key.public()], BackupSigner(tmp_path / "stolen" / "backup.key"))


def _body_changed(out: Path, *_: Any) -> None:
    raw = bytearray(out.read_bytes())
    raw[-40] ^= 1
    out.write_bytes(bytes(raw))


def _header_changed(out: Path, *_: Any) -> None:
    magic, signature, header, body = out.read_bytes().split(b"\n", 3)
    fields = json.loads(header)
    fields["object_id"] = "0" * 32
    out.write_bytes(b"\n".join([magic, signature, json.dumps(fields).encode(), body]))


def _signature_stripped(out: Path, *_: Any) -> None:
    magic, _signature, rest = out.read_bytes().split(b"\n", 2)
    out.write_bytes(magic + b"\n" + rest)


def _old_unsigned_format(out: Path, *_: Any) -> None:
    _magic, _signature, rest = out.read_bytes().split(b"\n", 2)
    out.write_bytes(UNSIGNED_MAGIC + rest)


@pytest.mark.parametrize(
    ("forge", "refusal"),
    [
        (_another_signer, "not by the bot's backup key you pinned"),
        (_body_changed, "changed after it was made"),
        (_header_changed, "changed after it was made"),
        (_signature_stripped, "signature cannot be read"),
        (_old_unsigned_format, "unsigned backup"),
    ],
)
async def test_a_forged_backup_is_refused_before_anything_is_decrypted(
    database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forge: Callable[[Path, Path, str, ReviewerKey], None],
    refusal: str,
) -> None:
    key = ReviewerKey.generate()
    signer = BackupSigner(tmp_path / "var" / "backup.key")
    out = tmp_path / "aigaq.backup"
    backup(database.url, out, [key.public()], signer)
    forge(out, tmp_path, database.url, key)
    opened = _refuse_to_decrypt(monkeypatch)
    target = tmp_path / "new" / "aigaq.db"
    with pytest.raises(BackupError, match=refusal):
        await restore(f"sqlite+aiosqlite:///{target}", out, key, signer=signer.fingerprint)
    assert opened == [] and not target.exists()


async def test_restore_into_a_database_that_holds_data_is_refused(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = await walk_intake(harness.user(user_id=6400), locale="kk", persons=PERSONS)
    signer = BackupSigner(harness.settings.backup_key())
    out = tmp_path / "aigaq.backup"
    url = harness.settings.database_url
    await harness.stop()
    backup(url, out, [harness.reviewer.public()], signer)
    opened = _refuse_to_decrypt(monkeypatch)
    with pytest.raises(BackupError, match="make a new empty database and point AIGAQ_DATABA"):
        await restore(url, out, harness.reviewer, signer=signer.fingerprint)
    assert opened == [] and await _cases(url) == [code]


def test_pg_restore_never_drops_what_is_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    argv: list[str] = []
    monkeypatch.setattr(bot.backup.subprocess, "run", lambda args, **_: argv.extend(args))
    monkeypatch.setattr(bot.backup, "_tool", lambda name: f"/usr/bin/{name}")
    bot.backup._load("postgresql+asyncpg://aigaq@db/aigaq", tmp_path / "dump", "postgresql")
    assert argv[0] == "/usr/bin/pg_restore" and "--single-transaction" in argv
    assert not any(part.startswith(("--clean", "--if-exists")) for part in argv)
