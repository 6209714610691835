"""Sealing an object: AES-256-GCM under a random data key, the key HPKE-wrapped per recipient.

Byte formats are in docs/sealing.md. The header names the object (id and kind) and is the
AEAD's associated data; HPKE's info binds the wrapped key to the same object.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.crypto.errors import (
    CryptoError,
    TamperedError,
    UnsupportedFormatError,
    WrongKeyError,
    WrongObjectError,
)
from bot.crypto.keys import PrivateKey, RecipientPublicKey, hpke_suite

MAGIC = b"AGQ"
VERSION = 1
TYPE_OBJECT = 1
TYPE_STREAM = 2
DATA_KEY_SIZE = 32
NONCE_SIZE = 12
WRAP_INFO = b"aigaq-wrap-v1"


@dataclass(frozen=True)
class Sealed:
    """A sealed object: its ciphertext and its data key wrapped for each recipient (by key id)."""

    ciphertext: bytes
    wrapped_keys: dict[str, bytes]


def _names(object_id: str, kind: str) -> bytes:
    encoded_id, encoded_kind = object_id.encode(), kind.encode()
    if len(encoded_id) > 255 or len(encoded_kind) > 255:
        raise CryptoError("object id and kind must be at most 255 bytes")
    return bytes([len(encoded_id)]) + encoded_id + bytes([len(encoded_kind)]) + encoded_kind


def header_prefix(kind_of_object: int, object_id: str, kind: str) -> bytes:
    """MAGIC, version, type, then the object's id and kind, length-prefixed."""
    return MAGIC + bytes([VERSION, kind_of_object]) + _names(object_id, kind)


def read_header_prefix(data: bytes, expected_type: int) -> tuple[str, str, int]:
    """(object id, kind, offset after them) from a header; checks magic and version."""
    if len(data) < 6 or data[:3] != MAGIC:
        raise TamperedError("not an Aigaq sealed object, or its header was damaged")
    if data[3] != VERSION:
        raise UnsupportedFormatError(f"sealed format version {data[3]} is not supported")
    if data[4] != expected_type:
        raise WrongObjectError("this is a different kind of sealed object")
    try:
        id_length = data[5]
        object_id = data[6 : 6 + id_length].decode()
        kind_at = 6 + id_length
        kind_length = data[kind_at]
        kind = data[kind_at + 1 : kind_at + 1 + kind_length].decode()
    except (IndexError, UnicodeDecodeError):
        raise TamperedError("the header of the sealed object was damaged") from None
    return object_id, kind, kind_at + 1 + kind_length


def check_binding(found_id: str, found_kind: str, object_id: str, kind: str) -> None:
    if (found_id, found_kind) != (object_id, kind):
        raise WrongObjectError("this ciphertext belongs to another object; it was moved or copied")


def _info(suite: int, object_id: str, kind: str) -> bytes:
    return WRAP_INFO + bytes([suite]) + _names(object_id, kind)


def wrap_data_key(
    data_key: bytes, recipient: RecipientPublicKey, *, object_id: str, kind: str
) -> bytes:
    """The data key, HPKE-sealed to one recipient: suite byte, then HPKE's enc and ciphertext."""
    suite = hpke_suite(recipient.suite)
    wrapped = suite.encrypt(
        data_key, recipient.hpke_public(), info=_info(recipient.suite, object_id, kind)
    )
    return bytes([recipient.suite]) + wrapped


def unwrap_data_key(wrapped: bytes, key: PrivateKey, *, object_id: str, kind: str) -> bytes:
    """The data key, if this private key is a recipient and nothing was altered."""
    if not wrapped or wrapped[0] != key.suite:
        raise WrongKeyError("this key is not a recipient of the object (different suite)")
    try:
        data_key = hpke_suite(key.suite).decrypt(
            wrapped[1:], key.hpke_private(), info=_info(key.suite, object_id, kind)
        )
    except (InvalidTag, ValueError):
        raise WrongKeyError(
            "this key cannot open the object: it is not a recipient, or the wrapped key was altered"
        ) from None
    if len(data_key) != DATA_KEY_SIZE:
        raise TamperedError("the wrapped data key has the wrong size")
    return data_key


def wrap_for_all(
    data_key: bytes, recipients: Sequence[RecipientPublicKey], object_id: str, kind: str
) -> dict[str, bytes]:
    if not recipients:
        raise CryptoError("no recipient: nothing may be sealed that no reviewer could open")
    return {
        recipient.key_id: wrap_data_key(data_key, recipient, object_id=object_id, kind=kind)
        for recipient in recipients
    }


def seal(
    plaintext: bytes, recipients: Sequence[RecipientPublicKey], *, object_id: str, kind: str
) -> Sealed:
    """Seal a small object (a case payload) to every recipient."""
    data_key = AESGCM.generate_key(bit_length=256)
    wrapped = wrap_for_all(data_key, recipients, object_id, kind)
    nonce = secrets.token_bytes(NONCE_SIZE)
    header = header_prefix(TYPE_OBJECT, object_id, kind) + nonce
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, header)
    return Sealed(ciphertext=header + ciphertext, wrapped_keys=wrapped)


def open_sealed(
    ciphertext: bytes, wrapped_key: bytes, key: PrivateKey, *, object_id: str, kind: str
) -> bytes:
    """Open a sealed object with a reviewer's key; every failure has its own clear error."""
    found_id, found_kind, offset = read_header_prefix(ciphertext, TYPE_OBJECT)
    check_binding(found_id, found_kind, object_id, kind)
    header_end = offset + NONCE_SIZE
    if len(ciphertext) < header_end + 16:
        raise TamperedError("the sealed object was cut short")
    data_key = unwrap_data_key(wrapped_key, key, object_id=object_id, kind=kind)
    try:
        return AESGCM(data_key).decrypt(
            ciphertext[offset:header_end], ciphertext[header_end:], ciphertext[:header_end]
        )
    except InvalidTag:
        raise TamperedError("the sealed object was altered") from None


U32 = struct.Struct(">I")
