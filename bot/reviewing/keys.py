"""A reviewer's private key and its file: only the reviewer's tools load one.

The file is sealed under her passphrase: scrypt (N = 2^17 by default) and AES-256-GCM, mode
0600 (docs/sealing.md, "Private key file").
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.crypto.errors import KeyFileError, UnsupportedFormatError, WrongPassphraseError
from bot.crypto.keys import SUITE_IDS, SUITE_NAMES, PrivateKey, b64d, b64e

KEY_FILE_FORMAT = "aigaq-key-v1"
DEFAULT_SCRYPT_N = 2**17


class ReviewerKey(PrivateKey):
    """A reviewer's private key; it lives on her machine, never on the bot's server."""

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key this reviewer signs exports with, derived from her private key."""
        seed = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"aigaq ed25519 signing v1"
        ).derive(self._raw)
        return Ed25519PrivateKey.from_private_bytes(seed)

    def local_key(self, purpose: str) -> bytes:
        """A 256-bit key for what her tools keep on her machine (her duplicate index), derived
        from her private key: only her key file opens it, and no second secret to keep."""
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"aigaq local {purpose} v1".encode(),
        ).derive(self._raw)

    def signing_public_hex(self) -> str:
        """Her export-signing public key, hex: what partners check bundles against."""
        return self.signing_key().public_key().public_bytes_raw().hex()

    def save(
        self,
        path: Path,
        passphrase: str,
        *,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        overwrite: bool = False,
    ) -> None:
        """Write the key, sealed under the passphrase (scrypt + AES-256-GCM), mode 0600."""
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        key = _stretch(passphrase, salt, scrypt_n)
        aad = _key_file_aad(self.suite)
        body = {
            "format": KEY_FILE_FORMAT,
            "suite": SUITE_NAMES[self.suite],
            "key_id": self.key_id,
            "kdf": {"name": "scrypt", "n": scrypt_n, "r": 8, "p": 1, "salt": b64e(salt)},
            "nonce": b64e(nonce),
            "ciphertext": b64e(AESGCM(key).encrypt(nonce, self._raw, aad)),
        }
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise KeyFileError(f"{path} exists already") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, path: Path, passphrase: str) -> ReviewerKey:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyFileError(f"the key file {path} does not exist") from None
        except (ValueError, UnicodeDecodeError):
            raise KeyFileError(f"{path} is not an Aigaq key file") from None
        if not isinstance(body, dict) or body.get("format") != KEY_FILE_FORMAT:
            raise UnsupportedFormatError(f"{path} is not an {KEY_FILE_FORMAT} key file")
        try:
            suite = SUITE_IDS[body["suite"]]
            kdf = body["kdf"]
            key = _stretch(
                passphrase, b64d(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            )
            nonce, ciphertext = b64d(body["nonce"]), b64d(body["ciphertext"])
        except (KeyError, TypeError, ValueError):
            raise KeyFileError(f"{path} is damaged") from None
        try:
            raw = AESGCM(key).decrypt(nonce, ciphertext, _key_file_aad(suite))
        except InvalidTag:
            raise WrongPassphraseError(f"the passphrase does not open {path}") from None
        return cls(suite, raw)


def _key_file_aad(suite: int) -> bytes:
    return KEY_FILE_FORMAT.encode() + bytes([suite])


def _stretch(passphrase: str, salt: bytes, n: int, r: int = 8, p: int = 1) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
