"""Backups sealed to the reviewers and signed by the bot: a lost backup leaks nothing, and a
planted one is refused.

File format: `AIGAQ-BACKUP-2\\n`; a signature line (JSON: the bot's backup signing key and
its Ed25519 signature over the SHA-256 of the rest of the file, bot/crypto/backup_signer.py);
a header line (JSON: backend, object id, the data key wrapped for each recipient); then the
sealed stream of the dump (see docs/sealing.md). SQLite is copied with its online backup API,
PostgreSQL with `pg_dump --format=custom`. The dump holds what the database holds: sealed
testimony and metadata, never a private key or the server key.

A restore checks the signature against the pinned backup key before it decrypts anything,
and loads only into an empty database: it never drops or overwrites what is there.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
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
from typing import IO, Any

from sqlalchemy import inspect, literal, select
from sqlalchemy.engine import URL, make_url

from bot import db
from bot.crypto import CryptoError, PrivateKey, RecipientPublicKey, open_file, seal_file
from bot.crypto.backup_signer import BackupSigner, pinned_signer, verify_signature
from bot.models import Base

VERSION = 2
MAGIC = b"AIGAQ-BACKUP-2\n"
UNSIGNED_MAGIC = b"AIGAQ-BACKUP-1\n"  # before backups were signed: refused
MAX_LINE = 1 << 20  # the signature and header lines; a header lists every reviewer's key
CHUNK = 1 << 16
EMPTY_DATABASE = "make a new empty database and point AIGAQ_DATABASE_URL at it"


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
    if backend == "sqlite":
        database = make_url(url).database
        assert database  # noqa: S101 - checked by make_url for file databases
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as dump, sqlite3.connect(database) as target:
            dump.backup(target)
        return
    program = _tool("pg_restore")
    with _libpq(url) as (database, environment):
        # Into an empty database (checked first), so nothing is dropped; one transaction, so
        # a failure leaves it empty rather than half restored.
        subprocess.run(  # noqa: S603 - fixed program, no shell
            [program, "--single-transaction", "--no-owner", f"--dbname={database}", str(source)],
            check=True,
            capture_output=True,
            env=environment,
        )


def backup(
    url: str, out: Path, recipients: Sequence[RecipientPublicKey], signer: BackupSigner
) -> int:
    """Dump the database, seal the dump to the recipients and sign the file; returns the
    plaintext size."""
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
            header_line = json.dumps(header).encode() + b"\n"
            digest = hashlib.sha256(header_line)
            with sealed.open("rb") as body:
                _copy(body, None, digest)
            signature = signer.sign(VERSION, digest.digest())
            with out.open("xb") as final, sealed.open("rb") as body:
                final.write(MAGIC + json.dumps(signature).encode() + b"\n" + header_line)
                shutil.copyfileobj(body, final)
    out.chmod(0o600)
    return result.plaintext_size


def _copy(source: IO[bytes], target: IO[bytes] | None, digest: Any) -> None:
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        if target is not None:
            target.write(chunk)


def _line(handle: IO[bytes], source: Path) -> Any:
    line = handle.readline(MAX_LINE)
    if not line.endswith(b"\n"):
        raise BackupError(f"{source} is damaged")
    try:
        fields = json.loads(line)
    except ValueError:
        raise BackupError(f"{source} is damaged") from None
    if not isinstance(fields, dict):
        raise BackupError(f"{source} is damaged")
    return fields


def _verified_copy(source: Path, copy: Path, pinned: str) -> dict[str, Any]:
    """Copy the backup's header and sealed dump into `copy` if the pinned backup key signed
    them; their header. Nothing is decrypted here, and the copy cannot change after the check."""
    with source.open("rb") as handle:
        magic = handle.readline(len(MAGIC))
        if magic == UNSIGNED_MAGIC:
            raise BackupError(
                f"{source} is an unsigned backup from before backups were signed: it cannot be "
                "told from a planted one; make a new backup with `aigaq backup` on the server"
            )
        if magic != MAGIC:
            raise BackupError(f"{source} is not an Aigaq backup")
        fields = _line(handle, source)
        try:
            public = pinned_signer(fields, pinned)
            digest = hashlib.sha256()
            with copy.open("wb") as target:
                _copy(handle, target, digest)
            verify_signature(public, fields, VERSION, digest.digest())
        except CryptoError as exc:
            raise BackupError(f"{source}: {exc}") from None
    with copy.open("rb") as handle:
        return dict(_line(handle, source))


async def _refuse_unless_empty(url: str) -> None:
    """Raise unless the database has none of our tables, or only empty ones (PostgreSQL:
    none, since pg_restore makes them itself)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and not await asyncio.to_thread(Path(parsed.database or "").exists):
        return  # opening it would make an empty file: empty enough
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            present = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            ours = [table for table in Base.metadata.sorted_tables if table.name in present]
            filled = []
            for table in ours:
                row = await connection.execute(select(literal(1)).select_from(table).limit(1))
                if row.first() is not None:
                    filled.append(table.name)
    finally:
        await engine.dispose()
    if filled:
        raise BackupError(
            f"the database at AIGAQ_DATABASE_URL is not empty ({', '.join(filled[:3])} hold "
            f"rows) and a restore never overwrites data: {EMPTY_DATABASE}"
        )
    if backend == "postgresql" and (ours or "alembic_version" in present):
        raise BackupError(
            "the database at AIGAQ_DATABASE_URL already has Aigaq's tables (empty), which "
            f"pg_restore makes itself: {EMPTY_DATABASE}"
        )


async def restore(url: str, source: Path, key: PrivateKey, *, signer: str) -> str:
    """Check the backup's signature against the pinned backup key (`signer`, a fingerprint),
    then open it with a reviewer's key and load it into the empty database at `url`."""
    with _private_tempfile() as signed:
        header = await asyncio.to_thread(_verified_copy, source, signed, signer)
        backend = str(header.get("backend"))
        here = make_url(url).get_backend_name()
        if here != backend:
            raise BackupError(f"this backup is of a {backend} database, not {here}")
        await _refuse_unless_empty(url)
        await asyncio.to_thread(_open_and_load, url, signed, header, key)
    return backend


def _open_and_load(url: str, signed: Path, header: dict[str, Any], key: PrivateKey) -> None:
    try:
        wrapped = base64.b64decode(header["wrapped_keys"][key.key_id])
    except KeyError:
        raise BackupError("this key is not one of the backup's recipients") from None
    except (TypeError, ValueError):
        raise BackupError("the backup is damaged") from None
    with signed.open("rb") as handle, _private_tempfile() as dump:
        handle.readline(MAX_LINE)  # the header, read already
        with dump.open("wb") as plain:
            try:
                open_file(
                    handle, plain, wrapped, key, object_id=str(header["object_id"]), kind="backup"
                )
            except (CryptoError, KeyError) as exc:
                raise BackupError(f"the backup cannot be opened: {exc}") from None
        try:
            _load(url, dump, str(header["backend"]))
        except subprocess.CalledProcessError as exc:
            raise BackupError(
                f"pg_restore failed: {exc.stderr.decode(errors='replace')[:200]}"
            ) from None
