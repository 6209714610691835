"""The bot's backup signing key, and the signature that makes a backup worth restoring.

`aigaq backup` signs each file it writes with an Ed25519 key of its own: a file beside the
server key (`backup.key`, mode 0600, made on first use), apart from the intake and delivery
keys because the roster gives `backup` a role of its own. The signature covers a fixed domain
string, the file format's version and the SHA-256 of everything after the signature line
(the header that names the backend and the wrapped data keys, then the sealed dump). A
reviewer's `aigaq restore` pins the key's fingerprint (`--signer`, or the roster's `backup`
entry) and checks the signature before it decrypts anything, so whoever can write to the
backup store cannot have a reviewer load a dump of his own.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.crypto.delivery import FileSigner, signer_fingerprint
from bot.crypto.errors import CryptoError
from bot.crypto.keys import b64d, b64e, normalise_fingerprint

SIGNED_TAG = b"aigaq-backup-sig\x00"
BACKUP_FILE = "backup.key"


class BackupSignatureError(CryptoError):
    """A backup that is unsigned, signed by a key not pinned, or changed after signing."""


def signed_message(version: int, digest: bytes) -> bytes:
    """What is signed: the domain string, the format version and the SHA-256 of the file."""
    return SIGNED_TAG + str(version).encode() + b"\x00" + digest


class BackupSigner(FileSigner):
    """The bot's backup signing key (pinned by `aigaq restore --signer`, or the roster's
    `backup` entry)."""

    def sign(self, version: int, digest: bytes) -> dict[str, str]:
        """The signature line's fields: the signer's raw public key (hex) and the signature."""
        return {
            "signer": self.public_hex,
            "signature": b64e(self._key.sign(signed_message(version, digest))),
        }


def pinned_signer(fields: dict[str, str], pinned: str) -> Ed25519PublicKey:
    """The signer the signature line names, if its fingerprint is the pinned one."""
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(fields["signer"]))
    except (KeyError, TypeError, ValueError):
        raise BackupSignatureError("the backup's signature cannot be read: it is damaged") from None
    found = signer_fingerprint(public)
    if found != normalise_fingerprint(pinned):
        raise BackupSignatureError(
            f"the backup is signed by key {found}, not by the bot's backup key you pinned "
            f"({normalise_fingerprint(pinned)}): it was not made by your bot"
        )
    return public


def verify_signature(
    public: Ed25519PublicKey, fields: dict[str, str], version: int, digest: bytes
) -> None:
    """Raise BackupSignatureError unless the signature holds for this file's digest."""
    try:
        public.verify(b64d(fields["signature"]), signed_message(version, digest))
    except (KeyError, TypeError, ValueError, CryptoError, InvalidSignature):
        raise BackupSignatureError(
            "the backup does not verify against its signature: it was changed after it was made"
        ) from None
