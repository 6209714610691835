"""Key pairs and recipients: HPKE with ML-KEM-768+X25519 (default) or X25519.

A reviewer's private key and its passphrase-protected file live in bot/reviewing/keys.py:
nothing on the server can load one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from bot.crypto.errors import KeyFileError, UnsupportedFormatError

SUITE_MLKEM768_X25519 = 1
SUITE_X25519 = 2
SUITE_NAMES = {SUITE_MLKEM768_X25519: "mlkem768x25519", SUITE_X25519: "x25519"}
SUITE_IDS = {name: suite for suite, name in SUITE_NAMES.items()}
PUBLIC_LINE_TAG = "aigaq-pub-v1"
# The reviewer's export-signing key, on the line after her aigaq-pub-v1 line (the roster
# carries it, so partners can tell her bundles from anyone else's).
SIGNING_LINE_TAG = "aigaq-sign-v1"
MLKEM_PUBLIC = 1184
MLKEM_SEED = 64
X25519_SIZE = 32


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hpke_suite(suite: int) -> hpke.Suite:
    """The HPKE suite for an Aigaq suite id."""
    if suite == SUITE_MLKEM768_X25519:
        kem = hpke.KEM.MLKEM768_X25519
    elif suite == SUITE_X25519:
        kem = hpke.KEM.X25519
    else:
        raise UnsupportedFormatError(f"unknown suite {suite}")
    return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


@functools.lru_cache(maxsize=64)
def _hpke_public(suite: int, public_bytes: bytes) -> Any:
    """The HPKE public key object of a reviewer key: parsed once (every seal wraps to it)."""
    if suite == SUITE_MLKEM768_X25519:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(public_bytes[:MLKEM_PUBLIC]),
            x25519.X25519PublicKey.from_public_bytes(public_bytes[MLKEM_PUBLIC:]),
        )
    return x25519.X25519PublicKey.from_public_bytes(public_bytes)


@dataclass(frozen=True)
class RecipientPublicKey:
    """A reviewer's public key, as the bot holds it."""

    suite: int
    public_bytes: bytes
    label: str = ""

    @property
    def key_id(self) -> str:
        return self.fingerprint[:16]

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the suite and the public key, in hex: what a person compares and pins.
        Computed once per key (the bot reads it for every wrapped key it stores)."""
        return hashlib.sha256(bytes([self.suite]) + self.public_bytes).hexdigest()

    def hpke_public(self) -> Any:
        return _hpke_public(self.suite, self.public_bytes)

    def to_line(self) -> str:
        """`aigaq-pub-v1 <suite> <base64url> [label]`, one line for the recipients file."""
        line = f"{PUBLIC_LINE_TAG} {SUITE_NAMES[self.suite]} {b64e(self.public_bytes)}"
        return f"{line} {self.label}" if self.label else line

    @classmethod
    def from_line(cls, line: str) -> RecipientPublicKey:
        parts = line.strip().split(maxsplit=3)
        if len(parts) < 3 or parts[0] != PUBLIC_LINE_TAG:
            raise KeyFileError(f"not an {PUBLIC_LINE_TAG} line")
        suite = SUITE_IDS.get(parts[1])
        if suite is None:
            raise KeyFileError(f"unknown suite {parts[1]!r}")
        try:
            public = b64d(parts[2])
        except ValueError:
            raise KeyFileError("the key is not valid base64url") from None
        expected = MLKEM_PUBLIC + X25519_SIZE if suite == SUITE_MLKEM768_X25519 else X25519_SIZE
        if len(public) != expected:
            raise KeyFileError(f"a {parts[1]} key has {expected} bytes, this one {len(public)}")
        key = cls(suite=suite, public_bytes=public, label=parts[3] if len(parts) > 3 else "")
        try:
            key.hpke_public()
        except ValueError:
            raise KeyFileError("the key bytes are not a valid public key") from None
        return key


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed or pasted (spaces, colons, capitals) in its one plain form."""
    return "".join(ch for ch in text.lower() if ch in "0123456789abcdef")


def load_recipients(path: Path) -> list[RecipientPublicKey]:
    """Every key in the recipients file; an error names the bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(
            f"the recipients file {path} does not exist: make a reviewer key with "
            "`aigaq keys generate --out reviewer.key` and add the printed line to it"
        ) from None
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(("#", SIGNING_LINE_TAG)):
            continue
        try:
            keys.append(RecipientPublicKey.from_line(line))
        except KeyFileError as exc:
            raise KeyFileError(f"{path}, line {number}: {exc}") from None
    if not keys:
        raise KeyFileError(f"the recipients file {path} holds no key")
    return keys


class PrivateKey:
    """An HPKE private key: opens what was sealed to its public half. Use a subclass."""

    def __init__(self, suite: int, private_raw: bytes) -> None:
        self.suite = suite
        self._raw = private_raw
        if suite == SUITE_MLKEM768_X25519:
            if len(private_raw) != MLKEM_SEED + X25519_SIZE:
                raise KeyFileError("the private key has the wrong length")
            kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_raw[:MLKEM_SEED])
            dh = x25519.X25519PrivateKey.from_private_bytes(private_raw[MLKEM_SEED:])
            self._private: Any = hpke.MLKEM768X25519PrivateKey(kem, dh)
            public = kem.public_key().public_bytes_raw() + dh.public_key().public_bytes_raw()
        elif suite == SUITE_X25519:
            self._private = x25519.X25519PrivateKey.from_private_bytes(private_raw)
            public = self._private.public_key().public_bytes_raw()
        else:
            raise UnsupportedFormatError(f"unknown suite {suite}")
        self._public = RecipientPublicKey(suite=suite, public_bytes=public)

    @classmethod
    def generate(cls, suite: int = SUITE_MLKEM768_X25519) -> Self:
        if suite == SUITE_MLKEM768_X25519:
            return cls(suite, secrets.token_bytes(MLKEM_SEED + X25519_SIZE))
        private = x25519.X25519PrivateKey.generate().private_bytes_raw()
        return cls(suite, private)

    @property
    def key_id(self) -> str:
        return self._public.key_id

    def public(self) -> RecipientPublicKey:
        return self._public

    def hpke_private(self) -> Any:
        return self._private


class DeliveryKey(PrivateKey):
    """The bot's own delivery key (bot/crypto/delivery.py), for the questions and notices it
    must deliver; a different type from a reviewer's, which the server never holds."""

    def private_bytes(self) -> bytes:
        """The raw private key, for its file in the bot's delivery folder."""
        return self._raw
