"""The server key: encrypts drafts and chat ids, and keys the pseudonyms of accounts.

It lives in a file (AIGAQ_SECRET_KEY_FILE), never in the database, so a database dump alone
reads neither drafts nor who is behind an account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.crypto.errors import KeyFileError, TamperedError, UnsupportedFormatError

KEY_SIZE = 32
TOKEN_VERSION = 1


def _subkey(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)


class ServerKey:
    """Symmetric keys derived from a 256-bit master key, with the masters it replaced.

    The key file holds one base64 line per master, the current one first. Everything new is
    written under the current one; older ones still open what they wrote and still find an
    account by its old pseudonym (`aigaq keys server --rotate` rewrites what it can at once),
    until `aigaq keys server --drop-old` finds nothing that needs them and removes them.
    """

    def __init__(self, master: bytes, older: Sequence[bytes] = ()) -> None:
        if len(master) != KEY_SIZE or any(len(m) != KEY_SIZE for m in older):
            raise KeyFileError(f"the server key must have {KEY_SIZE} bytes")
        self.masters = [master, *older]
        self._encrypt = AESGCM(_subkey(master, b"aigaq server encrypt v1"))
        self._mac = _subkey(master, b"aigaq server pseudonym v1")
        self._older = [ServerKey(m) for m in older]

    def rotated(self) -> ServerKey:
        """A new current master, this key's masters kept behind it."""
        return ServerKey(secrets.token_bytes(KEY_SIZE), self.masters)

    def current(self) -> ServerKey:
        """This key without the masters it replaced."""
        return ServerKey(self.masters[0])

    def save(self, path: Path) -> None:
        """Write every master (current first), mode 0600, replacing the file atomically."""
        temporary = path.with_name(path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            for master in self.masters:
                handle.write(base64.b64encode(master).decode() + "\n")
        os.replace(temporary, path)

    @classmethod
    def from_bytes(cls, master: bytes) -> ServerKey:
        return cls(master)

    @classmethod
    def generate_file(cls, path: Path, *, overwrite: bool = False) -> ServerKey:
        """Write a new random key (base64, mode 0600), creating the folder if needed."""
        master = secrets.token_bytes(KEY_SIZE)
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise KeyFileError(f"{path} exists already") from None
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(master).decode() + "\n")
        os.chmod(path, 0o600)
        return cls(master)

    @classmethod
    def load(cls, path: Path) -> ServerKey:
        """Read the key; refuse one that others on the machine could read."""
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise KeyFileError(
                f"the server key {path} does not exist: create it with `aigaq keys server`"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"cannot read the server key {path}: {type(exc).__name__}") from None
        if mode & 0o077:
            raise KeyFileError(f"the server key {path} is readable by others: chmod 600 {path}")
        try:
            masters = [base64.b64decode(line, validate=True) for line in text.split()]
        except ValueError:
            raise KeyFileError(f"the server key {path} is not base64") from None
        if not masters:
            raise KeyFileError(f"the server key {path} is empty")
        return cls(masters[0], masters[1:])

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        """Version byte, 12-byte nonce, AES-256-GCM; the context is bound as associated data."""
        nonce = secrets.token_bytes(12)
        return (
            bytes([TOKEN_VERSION])
            + nonce
            + self._encrypt.encrypt(nonce, plaintext, context.encode())
        )

    def decrypt(self, token: bytes, *, context: str) -> bytes:
        """Open a token written under the current master or an older one."""
        for key in (self, *self._older):
            try:
                return key._decrypt_one(token, context=context)
            except TamperedError:
                continue
        raise TamperedError(
            "a server-encrypted value was altered, or belongs to another context or key"
        )

    def _decrypt_one(self, token: bytes, *, context: str) -> bytes:
        if not token:
            raise TamperedError("empty server-encrypted value")
        if token[0] != TOKEN_VERSION:
            raise UnsupportedFormatError(f"server token version {token[0]} is not supported")
        try:
            return self._encrypt.decrypt(token[1:13], token[13:], context.encode())
        except InvalidTag:
            raise TamperedError(
                "a server-encrypted value was altered, or belongs to another context or key"
            ) from None

    def pseudonym(self, purpose: str, value: str | int) -> str:
        """A stable keyed hash of a value (a Telegram id, say) for one purpose."""
        message = purpose.encode() + b"\x00" + str(value).encode()
        return hmac.new(self._mac, message, hashlib.sha256).hexdigest()

    def pseudonyms(self, purpose: str, value: str | int) -> list[str]:
        """The value's pseudonym under every master, current first (to find old rows)."""
        return [key.pseudonym(purpose, value) for key in (self, *self._older)]
