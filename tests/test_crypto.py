"""Sealing: round trips, every kind of tampering, wrong keys and objects, key files."""

from __future__ import annotations

import io
import stat
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crypto import (
    SUITE_MLKEM768_X25519,
    SUITE_X25519,
    CryptoError,
    KeyFileError,
    RecipientPublicKey,
    ServerKey,
    StreamOpener,
    StreamSealer,
    TamperedError,
    UnsupportedFormatError,
    WrongKeyError,
    WrongObjectError,
    WrongPassphraseError,
    load_recipients,
    open_file,
    open_sealed,
    seal,
    seal_file,
)
from bot.reviewing.keys import ReviewerKey

PQ = ReviewerKey.generate(SUITE_MLKEM768_X25519)
CLASSIC = ReviewerKey.generate(SUITE_X25519)
STRANGER = ReviewerKey.generate(SUITE_MLKEM768_X25519)
TESTIMONY = "Менің ұлым Ерлан 2018 жылы ұсталды. 我的儿子被抓了.".encode()


def test_text_round_trip_for_each_suite_and_both_recipients() -> None:
    sealed = seal(TESTIMONY, [PQ.public(), CLASSIC.public()], object_id="c1", kind="case")
    assert TESTIMONY not in sealed.ciphertext
    for key in (PQ, CLASSIC):
        wrapped = sealed.wrapped_keys[key.key_id]
        assert open_sealed(sealed.ciphertext, wrapped, key, object_id="c1", kind="case") == (
            TESTIMONY
        )


def test_no_recipient_no_seal() -> None:
    with pytest.raises(CryptoError):
        seal(b"x", [], object_id="c", kind="case")


@pytest.mark.parametrize("position", [0, 3, 5, 10, -40, -1])
def test_any_changed_byte_of_the_ciphertext_is_caught(position: int) -> None:
    sealed = seal(TESTIMONY, [PQ.public()], object_id="c1", kind="case")
    damaged = bytearray(sealed.ciphertext)
    damaged[position] ^= 0x01
    with pytest.raises((TamperedError, WrongObjectError, UnsupportedFormatError)):
        open_sealed(bytes(damaged), sealed.wrapped_keys[PQ.key_id], PQ, object_id="c1", kind="case")


def test_a_changed_wrapped_key_is_caught() -> None:
    sealed = seal(TESTIMONY, [PQ.public()], object_id="c1", kind="case")
    wrapped = bytearray(sealed.wrapped_keys[PQ.key_id])
    wrapped[100] ^= 0x80
    with pytest.raises(WrongKeyError):
        open_sealed(sealed.ciphertext, bytes(wrapped), PQ, object_id="c1", kind="case")


def test_ciphertext_moved_to_another_case_is_refused() -> None:
    sealed = seal(TESTIMONY, [PQ.public()], object_id="c1", kind="case")
    wrapped = sealed.wrapped_keys[PQ.key_id]
    with pytest.raises(WrongObjectError, match="another object"):
        open_sealed(sealed.ciphertext, wrapped, PQ, object_id="c2", kind="case")
    with pytest.raises(WrongObjectError):
        open_sealed(sealed.ciphertext, wrapped, PQ, object_id="c1", kind="note")
    other = seal(b"other", [PQ.public()], object_id="c2", kind="case")
    # The right object, but another object's wrapped key: HPKE's info does not match.
    with pytest.raises(WrongKeyError):
        open_sealed(
            sealed.ciphertext, other.wrapped_keys[PQ.key_id], PQ, object_id="c1", kind="case"
        )


def test_a_key_that_is_not_a_recipient_cannot_open() -> None:
    sealed = seal(TESTIMONY, [PQ.public()], object_id="c1", kind="case")
    with pytest.raises(WrongKeyError):
        open_sealed(
            sealed.ciphertext, sealed.wrapped_keys[PQ.key_id], STRANGER, object_id="c1", kind="case"
        )
    with pytest.raises(WrongKeyError):
        open_sealed(
            sealed.ciphertext, sealed.wrapped_keys[PQ.key_id], CLASSIC, object_id="c1", kind="case"
        )


def test_multi_megabyte_file_round_trip() -> None:
    data = bytes(range(256)) * (5 * 4096)  # 5 MiB
    target = io.BytesIO()
    result = seal_file(
        io.BytesIO(data), target, [PQ.public(), CLASSIC.public()], object_id="a1", kind="attachment"
    )
    assert result.plaintext_size == len(data)
    for key in (PQ, CLASSIC):
        target.seek(0)
        out = io.BytesIO()
        open_file(
            target, out, result.wrapped_keys[key.key_id], key, object_id="a1", kind="attachment"
        )
        assert out.getvalue() == data


def _sealed_chunks(data: bytes, chunk_size: int = 1024) -> tuple[bytes, bytes, list[bytes]]:
    sealer = StreamSealer([PQ.public()], object_id="a1", kind="attachment", chunk_size=chunk_size)
    chunks = list(sealer.seal_chunks(io.BytesIO(data)))
    return sealer.header(), sealer.wrapped_keys[PQ.key_id], chunks


def _open(header: bytes, wrapped: bytes, chunks: list[bytes]) -> bytes:
    opener = StreamOpener(header, wrapped, PQ, object_id="a1", kind="attachment")
    return b"".join(opener.open_chunks(chunks))


def test_stream_chunks_reordered_dropped_cut_or_extended_are_caught() -> None:
    header, wrapped, chunks = _sealed_chunks(b"x" * 5000)
    assert len(chunks) == 5
    assert _open(header, wrapped, chunks) == b"x" * 5000
    for damaged in (
        [chunks[1], chunks[0], *chunks[2:]],
        chunks[:2] + chunks[3:],
        chunks[:-1],
        [*chunks, chunks[-1]],
        [chunks[0][:-1], *chunks[1:]],
    ):
        with pytest.raises(TamperedError):
            _open(header, wrapped, damaged)


def test_stream_header_is_bound() -> None:
    header, wrapped, chunks = _sealed_chunks(b"y" * 3000)
    damaged = bytearray(header)
    damaged[-1] ^= 1  # the nonce prefix
    with pytest.raises(TamperedError):
        _open(bytes(damaged), wrapped, chunks)
    with pytest.raises(WrongObjectError):
        StreamOpener(header, wrapped, PQ, object_id="a2", kind="attachment")


def test_a_chunk_from_another_stream_is_caught() -> None:
    header, wrapped, chunks = _sealed_chunks(b"a" * 3000)
    _h2, _w2, other = _sealed_chunks(b"a" * 3000)
    with pytest.raises(TamperedError):
        _open(header, wrapped, [chunks[0], other[1], chunks[2]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(min_size=0, max_size=300_000),
    chunk_size=st.integers(min_value=1, max_value=4096),
    exact=st.booleans(),
)
def test_property_any_payload_any_chunk_size(data: bytes, chunk_size: int, exact: bool) -> None:
    if exact and data:
        # Land exactly on a chunk boundary.
        data = data[: max(chunk_size, len(data) - len(data) % chunk_size)]
    sealer = StreamSealer(
        [CLASSIC.public()], object_id="p", kind="attachment", chunk_size=chunk_size
    )
    chunks = list(sealer.seal_chunks(io.BytesIO(data)))
    assert sealer.plaintext_size == len(data)
    opener = StreamOpener(
        sealer.header(),
        sealer.wrapped_keys[CLASSIC.key_id],
        CLASSIC,
        object_id="p",
        kind="attachment",
    )
    assert b"".join(opener.open_chunks(chunks)) == data
    small = seal(data[:2000], [CLASSIC.public()], object_id="p", kind="case")
    assert (
        open_sealed(
            small.ciphertext,
            small.wrapped_keys[CLASSIC.key_id],
            CLASSIC,
            object_id="p",
            kind="case",
        )
        == data[:2000]
    )


class _Zeros(io.RawIOBase):
    """A 20 MB file that exists only as a counter."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def test_sealing_a_large_stream_does_not_hold_it_in_memory() -> None:
    size = 20 * 1024 * 1024
    sealer = StreamSealer([PQ.public()], object_id="big", kind="attachment")
    tracemalloc.start()
    sealed_bytes = 0
    for chunk in sealer.seal_chunks(io.BufferedReader(_Zeros(size))):
        sealed_bytes += len(chunk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sealer.plaintext_size == size
    assert sealed_bytes > size
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"


def test_key_file_round_trip_mode_and_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "reviewer.key"
    PQ.save(path, "a long enough passphrase", scrypt_n=2**10)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ReviewerKey.load(path, "a long enough passphrase").key_id == PQ.key_id
    with pytest.raises(WrongPassphraseError):
        ReviewerKey.load(path, "not the passphrase")
    with pytest.raises(KeyFileError):
        PQ.save(path, "a long enough passphrase", scrypt_n=2**10)
    path.write_text("{not json")
    with pytest.raises(KeyFileError):
        ReviewerKey.load(path, "a long enough passphrase")
    with pytest.raises(KeyFileError):
        ReviewerKey.load(tmp_path / "missing.key", "x")


def test_recipients_file(tmp_path: Path) -> None:
    path = tmp_path / "recipients.txt"
    path.write_text(
        "# reviewers\n\n" + PQ.public().to_line() + "\n" + CLASSIC.public().to_line() + "\n"
    )
    keys = load_recipients(path)
    assert [k.key_id for k in keys] == [PQ.key_id, CLASSIC.key_id]
    labelled = RecipientPublicKey.from_line(PQ.public().to_line() + " Aliya, Almaty office")
    assert labelled.label == "Aliya, Almaty office" and labelled.key_id == PQ.key_id
    path.write_text(PQ.public().to_line() + "\naigaq-pub-v1 x25519 AAAA\n")
    with pytest.raises(KeyFileError, match="line 2"):
        load_recipients(path)
    path.write_text("# nobody yet\n")
    with pytest.raises(KeyFileError, match="no key"):
        load_recipients(path)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_recipients(tmp_path / "nope.txt")


def test_server_key(tmp_path: Path) -> None:
    path = tmp_path / "var" / "server.key"
    key = ServerKey.generate_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = ServerKey.load(path)
    token = key.encrypt(b"draft answers", context="draft:user")
    assert again.decrypt(token, context="draft:user") == b"draft answers"
    with pytest.raises(TamperedError):
        again.decrypt(token, context="chat")
    assert key.pseudonym("account", 42) == again.pseudonym("account", 42)
    assert key.pseudonym("account", 42) != key.pseudonym("draft", 42)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        ServerKey.load(path)
    with pytest.raises(KeyFileError):
        ServerKey.generate_file(path)
