"""Backups sealed to the reviewers: a lost backup leaks nothing, not even metadata.

File format: `AIGAQ-BACKUP-1\\n`, one JSON line (backend, object id, the data key wrapped for
each recipient), then the sealed stream of the dump (see docs/sealing.md). SQLite is copied
with its online backup API, PostgreSQL with `pg_dump --format=custom`. The dump holds what
the database holds: sealed testimony and metadata, never a private key or the server key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.crypto import CryptoError, PrivateKey, RecipientPublicKey, open_file, seal_file

MAGIC = b"AIGAQ-BACKUP-1\n"


class BackupError(Exception):
    """A backup or restore could not be done; the message says why."""


@contextmanager
def _private_tempfile(folder: Path | None = None) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix="aigaq-", dir=folder)
    os.close(handle)
    path = Path(name)
    path.chmod(0o600)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def _libpq(url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The libpq URL without its password, and an environment for the client tool.

    Other local users can read a process's argv, so the password goes into a PGPASSFILE of
    mode 0600 that lives only as long as the tool runs.
    """
    parsed = make_url(url)
    bare = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    ).render_as_string()
    environment = dict(os.environ)
    if parsed.password is None:
        yield bare, environment
        return
    password = str(parsed.password)
    if "\n" in password or "\r" in password:
        raise BackupError("the database password cannot contain a line break")
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    # The URL's password used to win over PGPASSWORD; a password file would not.
    environment.pop("PGPASSWORD", None)
    with _private_tempfile() as passfile:
        passfile.write_text(f"*:*:*:*:{escaped}\n", encoding="utf-8")
        environment["PGPASSFILE"] = str(passfile)
        yield bare, environment


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    return found


def _dump(url: str, target: Path) -> str:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        database = make_url(url).database
        if not database or not Path(database).exists():
            raise BackupError(f"no SQLite database at {database}")
        with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return "sqlite"
    if backend == "postgresql":
        program = _tool("pg_dump")
        with _libpq(url) as (database, environment):
            subprocess.run(  # noqa: S603 - fixed program, no shell
                [program, "--format=custom", "--no-owner", f"--file={target}", database],
                check=True,
                capture_output=True,
                env=environment,
            )
        return "postgresql"
    raise BackupError(f"backups of {backend} databases are not supported")


def _load(url: str, source: Path, backend: str) -> None:
    here = make_url(url).get_backend_name()
    if here != backend:
        raise BackupError(f"this backup is of a {backend} database, not {here}")
    if backend == "sqlite":
        database = make_url(url).database
        assert database  # noqa: S101 - checked by make_url for file databases
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as dump, sqlite3.connect(database) as target:
            dump.backup(target)
        return
    program = _tool("pg_restore")
    with _libpq(url) as (database, environment):
        subprocess.run(  # noqa: S603 - fixed program, no shell
            [program, "--clean", "--if-exists", "--no-owner", f"--dbname={database}", str(source)],
            check=True,
            capture_output=True,
            env=environment,
        )


def backup(url: str, out: Path, recipients: Sequence[RecipientPublicKey]) -> int:
    """Dump the database and seal the dump to the recipients; returns the plaintext size."""
    if out.exists():
        raise BackupError(f"{out} exists already")
    object_id = secrets.token_hex(16)
    with _private_tempfile() as dump:
        try:
            backend = _dump(url, dump)
        except subprocess.CalledProcessError as exc:
            raise BackupError(
                f"pg_dump failed: {exc.stderr.decode(errors='replace')[:200]}"
            ) from None
        with _private_tempfile(out.parent) as sealed, dump.open("rb") as plain:
            with sealed.open("wb") as target:
                result = seal_file(plain, target, recipients, object_id=object_id, kind="backup")
            header = {
                "backend": backend,
                "object_id": object_id,
                "wrapped_keys": {
                    key_id: base64.b64encode(wrapped).decode()
                    for key_id, wrapped in result.wrapped_keys.items()
                },
            }
            with out.open("xb") as final, sealed.open("rb") as body:
                final.write(MAGIC + json.dumps(header).encode() + b"\n")
                shutil.copyfileobj(body, final)
    out.chmod(0o600)
    return result.plaintext_size


def restore(url: str, source: Path, key: PrivateKey) -> str:
    """Open a backup with a reviewer's key and load it into the database at `url`."""
    with source.open("rb") as handle:
        if handle.readline() != MAGIC:
            raise BackupError(f"{source} is not an Aigaq backup")
        try:
            header = json.loads(handle.readline())
            wrapped = base64.b64decode(header["wrapped_keys"][key.key_id])
        except KeyError:
            raise BackupError("this key is not one of the backup's recipients") from None
        except ValueError:
            raise BackupError(f"{source} is damaged") from None
        with _private_tempfile() as dump:
            with dump.open("wb") as plain:
                try:
                    open_file(
                        handle, plain, wrapped, key, object_id=header["object_id"], kind="backup"
                    )
                except CryptoError as exc:
                    raise BackupError(str(exc)) from None
            try:
                _load(url, dump, header["backend"])
            except subprocess.CalledProcessError as exc:
                raise BackupError(
                    f"pg_restore failed: {exc.stderr.decode(errors='replace')[:200]}"
                ) from None
    return str(header["backend"])
