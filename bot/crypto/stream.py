"""Sealing files in 64 KiB chunks (STREAM construction), so no file sits whole in memory.

Chunk i is AES-256-GCM with nonce = 7-byte random prefix | 4-byte big-endian counter |
1-byte last-chunk flag, and the stream header as associated data. Reordering, dropping,
truncating or extending the chunks fails authentication.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.crypto.envelope import (
    TYPE_STREAM,
    U32,
    check_binding,
    header_prefix,
    read_header_prefix,
    unwrap_data_key,
    wrap_for_all,
)
from bot.crypto.errors import CryptoError, TamperedError
from bot.crypto.keys import PrivateKey, RecipientPublicKey

CHUNK_SIZE = 65536
TAG_SIZE = 16
PREFIX_SIZE = 7
MAX_CHUNKS = 2**32 - 1
# Lengths read from a sealed stream are attacker-controlled: nothing larger is read or
# allocated. A header holds at most 3 + 1 + 1 + (1 + 255) * 2 + 4 + 7 = 528 bytes.
MAX_CHUNK_SIZE = 2**20
MAX_HEADER_SIZE = 1024


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter > MAX_CHUNKS:
        raise CryptoError("the stream is too long to seal")
    return prefix + U32.pack(counter) + (b"\x01" if last else b"\x00")


def _read_full(source: BinaryIO, size: int) -> bytes:
    """Read `size` bytes unless the end comes first (a pipe may hand over less at a time)."""
    data = source.read(size)
    while data and len(data) < size:
        more = source.read(size - len(data))
        if not more:
            break
        data += more
    return data


class StreamSealer:
    """Seals one file for the given recipients; read `header()`, then iterate `seal_chunks`."""

    def __init__(
        self,
        recipients: Sequence[RecipientPublicKey],
        *,
        object_id: str,
        kind: str,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise CryptoError(f"chunk size must be between 1 and {MAX_CHUNK_SIZE} bytes")
        self._key = AESGCM.generate_key(bit_length=256)
        self.wrapped_keys = wrap_for_all(self._key, recipients, object_id, kind)
        self._prefix = secrets.token_bytes(PREFIX_SIZE)
        self._chunk_size = chunk_size
        self._header = (
            header_prefix(TYPE_STREAM, object_id, kind) + U32.pack(chunk_size) + self._prefix
        )
        self.plaintext_size = 0
        self._digest = hashlib.sha256()

    def header(self) -> bytes:
        return self._header

    @property
    def plaintext_sha256(self) -> str:
        return self._digest.hexdigest()

    def seal_chunks(self, source: BinaryIO) -> Iterator[bytes]:
        """Encrypted chunks, each chunk_size + 16 bytes but the last (flagged, maybe empty)."""
        aead = AESGCM(self._key)
        counter = 0
        current = _read_full(source, self._chunk_size)
        while True:
            following = (
                _read_full(source, self._chunk_size) if len(current) == self._chunk_size else b""
            )
            last = not following
            self.plaintext_size += len(current)
            self._digest.update(current)
            yield aead.encrypt(_nonce(self._prefix, counter, last), current, self._header)
            if last:
                return
            counter += 1
            current = following


class StreamOpener:
    """Opens a sealed stream with a reviewer's key, chunk by chunk."""

    def __init__(
        self, header: bytes, wrapped_key: bytes, key: PrivateKey, *, object_id: str, kind: str
    ) -> None:
        found_id, found_kind, offset = read_header_prefix(header, TYPE_STREAM)
        check_binding(found_id, found_kind, object_id, kind)
        if len(header) != offset + U32.size + PREFIX_SIZE:
            raise TamperedError("the stream header was damaged")
        self._chunk_size = U32.unpack(header[offset : offset + U32.size])[0]
        if not 1 <= self._chunk_size <= MAX_CHUNK_SIZE:
            raise TamperedError("the stream header gives an impossible chunk size")
        self._prefix = header[offset + U32.size :]
        self._header = header
        self._aead = AESGCM(unwrap_data_key(wrapped_key, key, object_id=object_id, kind=kind))
        self._counter = 0
        self._finished = False

    @property
    def sealed_chunk_size(self) -> int:
        return self._chunk_size + TAG_SIZE

    def feed(self, chunk: bytes) -> bytes:
        """Open the next chunk, in order; for chunks that arrive a few at a time."""
        if self._finished:
            raise TamperedError("data follows the last chunk of the stream")
        if len(chunk) > self.sealed_chunk_size:
            raise TamperedError(
                f"chunk {self._counter} of the stream is longer than its header allows"
            )
        for last in (False, True):
            try:
                plain = self._aead.decrypt(
                    _nonce(self._prefix, self._counter, last), chunk, self._header
                )
            except InvalidTag:
                continue
            self._finished = last
            self._counter += 1
            return plain
        raise TamperedError(f"chunk {self._counter} of the stream was altered or moved")

    def close(self) -> None:
        """After the last chunk: raise if the stream was cut short."""
        if not self._finished:
            raise TamperedError("the stream was cut short: its last chunk is missing")

    def open_chunks(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Plaintext chunks; raises TamperedError on any change, reorder, drop or truncation."""
        for chunk in chunks:
            yield self.feed(chunk)
        self.close()


@dataclass(frozen=True)
class StreamResult:
    wrapped_keys: dict[str, bytes]
    plaintext_size: int
    plaintext_sha256: str


def seal_file(
    source: BinaryIO,
    target: BinaryIO,
    recipients: Sequence[RecipientPublicKey],
    *,
    object_id: str,
    kind: str,
    chunk_size: int = CHUNK_SIZE,
) -> StreamResult:
    """Write the header and the sealed chunks of `source` to `target`."""
    sealer = StreamSealer(recipients, object_id=object_id, kind=kind, chunk_size=chunk_size)
    header = sealer.header()
    target.write(U32.pack(len(header)) + header)
    for chunk in sealer.seal_chunks(source):
        target.write(chunk)
    return StreamResult(sealer.wrapped_keys, sealer.plaintext_size, sealer.plaintext_sha256)


def open_file(
    source: BinaryIO,
    target: BinaryIO,
    wrapped_key: bytes,
    key: PrivateKey,
    *,
    object_id: str,
    kind: str,
) -> int:
    """Open what seal_file wrote; returns the plaintext size."""
    length_bytes = source.read(U32.size)
    if len(length_bytes) != U32.size:
        raise TamperedError("the sealed file is empty or cut short")
    header_size = U32.unpack(length_bytes)[0]
    if header_size > MAX_HEADER_SIZE:
        raise TamperedError("the sealed file's header length is impossible")
    header = source.read(header_size)
    opener = StreamOpener(header, wrapped_key, key, object_id=object_id, kind=kind)
    size = 0

    def chunks() -> Iterator[bytes]:
        while chunk := source.read(opener.sealed_chunk_size):
            yield chunk

    for plain in opener.open_chunks(chunks()):
        target.write(plain)
        size += len(plain)
    return size
