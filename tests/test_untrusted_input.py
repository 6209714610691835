"""Hostile input is refused before it costs anything: bundles, sealed streams, backup tools."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import backup
from bot.crypto import CryptoError, StreamOpener, StreamSealer, TamperedError, open_file, seal_file
from bot.crypto.envelope import U32
from bot.crypto.stream import MAX_CHUNK_SIZE, MAX_HEADER_SIZE, TAG_SIZE
from bot.reviewing.bundle import MAX_MANIFEST_SIZE, ExportError, verify_bundle
from tests.test_crypto import PQ, _open, _sealed_chunks

CASES = b'{"code": "AB12CD"}\n'
PHOTO = b"\xff\xd8\xff\xe0 a photo"


def _manifest(files: list[dict[str, Any]]) -> bytes:
    """A manifest as the exporter writes it, signed or not."""
    body = {
        "format": "aigaq-bundle-v1",
        "created_at": "2026-11-20T10:00:00+00:00",
        "signer": PQ.signing_public_hex(),
        "files": files,
    }
    return json.dumps(body, indent=2).encode()


def _listing(entries: dict[str, bytes]) -> list[dict[str, Any]]:
    return [
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in entries.items()
    ]


def _bundle(
    path: Path,
    *,
    manifest: bytes | None = None,
    extra: tuple[tuple[str, bytes], ...] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A bundle signed by PQ's export key, then whatever the attacker appends."""
    listed = {"cases.jsonl": CASES, f"files/{hashlib.sha256(PHOTO).hexdigest()}": PHOTO}
    if manifest is None:
        manifest = _manifest(_listing(listed))
    with zipfile.ZipFile(path, "w", compression=compression) as bundle:
        for name, data in listed.items():
            bundle.writestr(name, data)
        bundle.writestr("manifest.json", manifest)
        bundle.writestr("manifest.sig", PQ.signing_key().sign(manifest).hex())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of duplicate names: the point here
            for name, data in extra:
                bundle.writestr(name, data)
    return path


def _refused(path: Path, match: str) -> str:
    with pytest.raises(ExportError, match=match) as caught:
        verify_bundle(path, PQ.signing_public_hex())
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return message


def test_a_clean_bundle_verifies(tmp_path: Path) -> None:
    assert verify_bundle(_bundle(tmp_path / "ok.zip"), PQ.signing_public_hex()) == 2


def test_a_second_entry_of_the_same_name_is_refused(tmp_path: Path) -> None:
    # Python reads the last of two same-named entries, other tools the first.
    path = _bundle(tmp_path / "dup.zip", extra=(("cases.jsonl", b'{"code": "FORGED"}\n'),))
    _refused(path, "two entries named 'cases.jsonl'")


def test_an_entry_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path / "extra.zip", extra=(("files/README.html", b"<script>"),))
    _refused(path, "1 entries its manifest does not list, such as 'files/README.html'")


@pytest.mark.parametrize(
    "name",
    [
        "/etc/cron.d/evil",
        "../evil",
        "files/../../evil",
        "files\\..\\evil.exe",
        "files\\evil.exe",
        "C:/Users/evil",
        "./cases.jsonl",
        "files//evil",
    ],
)
def test_an_absolute_or_climbing_entry_name_is_refused(tmp_path: Path, name: str) -> None:
    path = _bundle(tmp_path / "unsafe.zip", extra=((name, b"x"),))
    assert repr(name) in _refused(path, "unsafe entry name")


def test_an_oversized_manifest_is_refused_before_it_is_read(tmp_path: Path) -> None:
    padded = _manifest(_listing({"cases.jsonl": CASES}))[:-1] + b" " * MAX_MANIFEST_SIZE + b"}"
    path = _bundle(tmp_path / "big.zip", manifest=padded)
    assert path.stat().st_size < 1_000_000  # it deflates to little: a bomb in small
    _refused(path, "manifest.json is larger than")


def test_a_signed_manifest_with_an_unsafe_or_repeated_path_is_refused(tmp_path: Path) -> None:
    listing = _listing({"cases.jsonl": CASES})
    climbing = _manifest([*listing, {**listing[0], "path": "../cases.jsonl"}])
    _refused(_bundle(tmp_path / "a.zip", manifest=climbing), "unsafe path: '../cases.jsonl'")
    twice = _manifest([*listing, *listing])
    _refused(_bundle(tmp_path / "b.zip", manifest=twice), "lists 'cases.jsonl' twice")


def test_a_damaged_entry_gives_one_clear_line(tmp_path: Path) -> None:
    path = _bundle(tmp_path / "flipped.zip", compression=zipfile.ZIP_STORED)
    path.write_bytes(path.read_bytes().replace(b"a photo", b"a phoTo"))
    _refused(path, "is damaged or cannot be read")


@pytest.mark.parametrize(
    "manifest",
    [b"not json", b"[]", b'{"signer": 5}', b"\xff\xfe"],
)
def test_a_malformed_manifest_gives_one_clear_line(tmp_path: Path, manifest: bytes) -> None:
    path = _bundle(tmp_path / "bad.zip", manifest=manifest)
    with pytest.raises(ExportError) as caught:
        verify_bundle(path)
    assert "\n" not in str(caught.value)


def test_a_signed_manifest_whose_files_are_not_a_list_is_refused(tmp_path: Path) -> None:
    for files in ({"path": "cases.jsonl"}, ["cases.jsonl"], [{"path": 1, "sha256": "00"}]):
        body = json.loads(_manifest([]))
        body["files"] = files
        path = _bundle(tmp_path / "odd.zip", manifest=json.dumps(body).encode())
        _refused(path, "does not list its files properly")
        path.unlink()


class _Recording(io.BytesIO):
    """A sealed file that remembers the largest read asked of it."""

    largest = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.largest = max(self.largest, size if size is not None and size >= 0 else 1 << 62)
        return super().read(size)


def _sealed_file(data: bytes) -> tuple[bytes, bytes]:
    target = io.BytesIO()
    result = seal_file(io.BytesIO(data), target, [PQ.public()], object_id="a1", kind="attachment")
    return target.getvalue(), result.wrapped_keys[PQ.key_id]


def _open_file(sealed: bytes, wrapped: bytes) -> _Recording:
    source = _Recording(sealed)
    open_file(source, io.BytesIO(), wrapped, PQ, object_id="a1", kind="attachment")
    return source


def test_a_header_length_of_4_gib_is_refused_before_reading() -> None:
    sealed, wrapped = _sealed_file(b"testimony")
    for length in (2**32 - 1, MAX_HEADER_SIZE + 1):
        source = _Recording(U32.pack(length) + sealed[U32.size :])
        with pytest.raises(TamperedError, match="header length"):
            open_file(source, io.BytesIO(), wrapped, PQ, object_id="a1", kind="attachment")
        assert source.largest == U32.size


def _with_chunk_size(header: bytes, chunk_size: int) -> bytes:
    at = len(header) - 7 - U32.size  # the chunk size sits before the 7-byte nonce prefix
    return header[:at] + U32.pack(chunk_size) + header[at + U32.size :]


@pytest.mark.parametrize("chunk_size", [0, MAX_CHUNK_SIZE + 1, 2**32 - 1])
def test_a_header_asking_for_huge_or_empty_chunks_is_refused(chunk_size: int) -> None:
    header, wrapped, chunks = _sealed_chunks(b"z" * 3000)
    with pytest.raises(TamperedError, match="impossible chunk size"):
        _open(_with_chunk_size(header, chunk_size), wrapped, chunks)
    sealed, wrapped = _sealed_file(b"z" * 3000)
    first = sealed[U32.size : U32.size + U32.unpack(sealed[: U32.size])[0]]
    forged = sealed.replace(first, _with_chunk_size(first, chunk_size), 1)
    source = _Recording(forged)
    with pytest.raises(TamperedError):
        open_file(source, io.BytesIO(), wrapped, PQ, object_id="a1", kind="attachment")
    assert source.largest <= MAX_HEADER_SIZE


def test_reads_stay_within_the_chunk_bound() -> None:
    sealed, wrapped = _sealed_file(b"q" * 200_000)
    assert _open_file(sealed, wrapped).largest <= MAX_CHUNK_SIZE + TAG_SIZE


def test_a_chunk_longer_than_the_header_allows_is_refused() -> None:
    header, wrapped, chunks = _sealed_chunks(b"w" * 3000)
    opener = StreamOpener(header, wrapped, PQ, object_id="a1", kind="attachment")
    with pytest.raises(TamperedError, match="longer than its header allows"):
        opener.feed(chunks[0] + b"\x00" * (1 << 20))


def test_the_sealer_keeps_to_the_same_bound() -> None:
    StreamSealer([PQ.public()], object_id="a", kind="attachment", chunk_size=MAX_CHUNK_SIZE)
    with pytest.raises(CryptoError):
        StreamSealer([PQ.public()], object_id="a", kind="attachment", chunk_size=MAX_CHUNK_SIZE + 1)


PASSWORD = "s3cr:et\\p@ss"
URL = "postgresql+asyncpg://aigaq:s3cr%3Aet%5Cp%40ss@db.internal:5433/aigaq?sslmode=require"


class _FakeRun:
    """Stands in for subprocess.run: records argv and the PGPASSFILE as the tool saw it."""

    def __init__(self) -> None:
        self.argv: list[str] = []
        self.env: dict[str, str] = {}
        self.passfile: tuple[int, str] | None = None

    def __call__(self, argv: list[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
        self.argv, self.env = argv, options["env"]
        passfile = Path(self.env["PGPASSFILE"])
        self.passfile = (stat.S_IMODE(passfile.stat().st_mode), passfile.read_text())
        return subprocess.CompletedProcess(argv, 0, b"", b"")


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[_FakeRun]:
    fake = _FakeRun()
    monkeypatch.setattr(backup.subprocess, "run", fake)
    monkeypatch.setattr(backup, "_tool", lambda name: f"/usr/bin/{name}")
    monkeypatch.setenv("PGPASSWORD", "a stale one")
    yield fake


def _check_password_stayed_out_of_argv(fake: _FakeRun) -> None:
    assert not any("s3cr" in part for part in fake.argv)
    assert fake.passfile == (0o600, "*:*:*:*:s3cr\\:et\\\\p@ss\n")
    assert "PGPASSWORD" not in fake.env
    assert not Path(fake.env["PGPASSFILE"]).exists()


def test_pg_dump_gets_the_password_from_a_private_passfile(
    fake_run: _FakeRun, tmp_path: Path
) -> None:
    backup._dump(URL, tmp_path / "dump")
    assert fake_run.argv == [
        "/usr/bin/pg_dump",
        "--format=custom",
        "--no-owner",
        f"--file={tmp_path / 'dump'}",
        "postgresql://aigaq@db.internal:5433/aigaq?sslmode=require",
    ]
    _check_password_stayed_out_of_argv(fake_run)


def test_pg_restore_gets_the_password_from_a_private_passfile(
    fake_run: _FakeRun, tmp_path: Path
) -> None:
    backup._load(URL, tmp_path / "dump", "postgresql")
    assert fake_run.argv[-2:] == [
        "--dbname=postgresql://aigaq@db.internal:5433/aigaq?sslmode=require",
        str(tmp_path / "dump"),
    ]
    _check_password_stayed_out_of_argv(fake_run)


def test_the_passfile_is_gone_when_the_tool_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Path] = []

    def failing(argv: list[str], **options: Any) -> None:
        seen.append(Path(options["env"]["PGPASSFILE"]))
        raise subprocess.CalledProcessError(1, argv, b"", b"connection refused")

    monkeypatch.setattr(backup.subprocess, "run", failing)
    monkeypatch.setattr(backup, "_tool", lambda name: f"/usr/bin/{name}")
    with pytest.raises(subprocess.CalledProcessError) as caught:
        backup._dump(URL, tmp_path / "dump")
    assert PASSWORD not in str(caught.value) and "s3cr" not in str(caught.value.cmd)
    assert seen and not seen[0].exists()


def test_without_a_password_the_environment_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGPASSWORD", "from the operator")
    with backup._libpq("postgresql://aigaq@/aigaq?host=/run/postgresql") as (url, env):
        assert url == "postgresql://aigaq@/aigaq?host=%2Frun%2Fpostgresql"
        assert env == dict(os.environ)
        assert env["PGPASSWORD"] == "from the operator"
