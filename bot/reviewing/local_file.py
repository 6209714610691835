"""Files a reviewer's tools keep on her own machine, sealed under her key.

The file: its MAGIC, her key id and a newline (to say whose it is), then a 12-byte nonce and
the zlib-compressed content sealed with AES-256-GCM under HKDF(her private key, "aigaq
local <purpose> v1"), MAGIC and key id bound as associated data. It is written whole to a
temporary file, mode 0600, and moved into place.
"""

from __future__ import annotations

import os
import secrets
import zlib
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError


def seal_local(path: Path, key: ReviewerKey, magic: bytes, purpose: str, content: bytes) -> None:
    """Seal `content` under her key and replace the file with it (mode 0600)."""
    nonce = secrets.token_bytes(12)
    head = magic + key.key_id.encode() + b"\n"
    sealed = AESGCM(key.local_key(purpose)).encrypt(nonce, zlib.compress(content), head)
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(head + nonce + sealed)
    os.replace(temporary, path)


def open_local(
    path: Path, key: ReviewerKey, magic: bytes, purpose: str, what: str, setting: str
) -> bytes | None:
    """The content of her file, or None if there is none yet; refuses another key's file
    (`setting` names where she can give her own) and one that was altered."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if not raw.startswith(magic) or b"\n" not in raw[len(magic) :]:
        raise ReviewError(f"{path} is not {what}")
    key_id, _, rest = raw[len(magic) :].partition(b"\n")
    whose = key_id.decode("ascii", "replace")
    if whose != key.key_id:
        raise ReviewError(
            f"{path} is the {what} of another key ({whose}): give your own with {setting}, or "
            "delete it"
        )
    head = magic + key_id + b"\n"
    try:
        return zlib.decompress(AESGCM(key.local_key(purpose)).decrypt(rest[:12], rest[12:], head))
    except (InvalidTag, ValueError, zlib.error):
        raise ReviewError(
            f"{path} does not open with your key: it was altered or damaged"
        ) from None
