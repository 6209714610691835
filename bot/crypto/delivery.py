"""The bot's delivery keys: what reviewers seal a question or a notice to, for the bot to send.

A delivery key is a key pair on the post-quantum hybrid suite, made by the bot, rotated weekly;
its private half lives in a file beside the server key and is destroyed once nothing pending
is sealed to it. Each public half is certified by the bot's long-lived Ed25519 signing key
(a file in the same folder) for a validity window; reviewers pin the signing key's fingerprint
(`aigaq keys inbox`, AIGAQ_INBOX_FINGERPRINT) and refuse a delivery key it did not certify, so
whoever writes to the database cannot put his own key there. Formats: docs/sealing.md.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.crypto.errors import CryptoError, KeyFileError
from bot.crypto.keys import (
    SUITE_IDS,
    SUITE_MLKEM768_X25519,
    SUITE_NAMES,
    DeliveryKey,
    RecipientPublicKey,
    b64d,
    b64e,
    normalise_fingerprint,
)

CERT_TAG = "aigaq-delivery-cert-v1"
KEY_FORMAT = "aigaq-delivery-key-v1"
SIGNING_FILE = "signing.key"


class CertificateError(CryptoError):
    """A delivery key's certificate is missing, forged, expired or signed by another key."""


def signer_fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw Ed25519 public key, hex: what reviewers pin."""
    return hashlib.sha256(public.public_bytes_raw()).hexdigest()


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Certificate:
    """A delivery public key, the window it may be sealed to, and who signed it."""

    key: RecipientPublicKey
    not_before: datetime
    not_after: datetime
    signer: bytes  # the raw Ed25519 public key

    def body(self) -> bytes:
        return json.dumps(
            {
                "key": self.key.to_line(),
                "not_before": self.not_before.astimezone(UTC).isoformat(),
                "not_after": self.not_after.astimezone(UTC).isoformat(),
                "signer": self.signer.hex(),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    @staticmethod
    def _signed(body: bytes) -> bytes:
        return CERT_TAG.encode() + b"\x00" + body

    def sign(self, signing: Ed25519PrivateKey) -> str:
        """`aigaq-delivery-cert-v1 <base64url body> <base64url signature>`, one line."""
        body = self.body()
        return f"{CERT_TAG} {b64e(body)} {b64e(signing.sign(self._signed(body)))}"


def verify_certificate(line: str, pinned: str, now: datetime) -> Certificate:
    """The certified delivery key, if the line is signed by the pinned signing key and `now`
    is inside its window; a CertificateError saying what is wrong otherwise."""
    parts = line.strip().split()
    if len(parts) != 3 or parts[0] != CERT_TAG:
        raise CertificateError(f"the bot's delivery key is not an {CERT_TAG} certificate")
    try:
        body = b64d(parts[1])
        signature = b64d(parts[2])
        fields = json.loads(body)
        signer = bytes.fromhex(fields["signer"])
        public = Ed25519PublicKey.from_public_bytes(signer)
        certificate = Certificate(
            key=RecipientPublicKey.from_line(fields["key"]),
            not_before=_moment(fields["not_before"]),
            not_after=_moment(fields["not_after"]),
            signer=signer,
        )
    except (ValueError, KeyError, TypeError, CryptoError):
        raise CertificateError("the bot's delivery key certificate is damaged") from None
    found = signer_fingerprint(public)
    if found != normalise_fingerprint(pinned):
        raise CertificateError(
            f"the bot's delivery key is certified by signing key {found}, not by the one you "
            f"pinned ({normalise_fingerprint(pinned)})"
        )
    try:
        public.verify(signature, Certificate._signed(body))
    except InvalidSignature:
        raise CertificateError(
            "the bot's delivery key certificate does not verify: it was altered or forged"
        ) from None
    if now < certificate.not_before:
        raise CertificateError(
            f"the bot's delivery key is valid only from {certificate.not_before:%Y-%m-%d %H:%M} "
            "UTC (check this machine's clock)"
        )
    if now > certificate.not_after:
        raise CertificateError(
            f"the bot's delivery key expired on {certificate.not_after:%Y-%m-%d %H:%M} UTC: "
            "the bot renews it when it runs; ask whoever runs it"
        )
    return certificate


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _read_private(path: Path) -> str:
    """A key file's text; refuse one that others on the machine could read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {path}: {type(exc).__name__}") from None
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by others: chmod 600 {path}")
    return text


def signing_key_file(path: Path, *, unwritable: str) -> Ed25519PrivateKey:
    """An Ed25519 signing key kept in a file of its own (mode 0600), made on first use;
    `unwritable` says what to do when its folder cannot be written."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            seed = Ed25519PrivateKey.generate().private_bytes_raw()
            with contextlib.suppress(FileExistsError):  # another process made it first
                _write_private(path, base64.b64encode(seed).decode() + "\n")
    except OSError as exc:
        raise KeyFileError(f"cannot write {path} ({type(exc).__name__}): {unwritable}") from None
    try:
        return Ed25519PrivateKey.from_private_bytes(
            base64.b64decode(_read_private(path).strip(), validate=True)
        )
    except ValueError:
        raise KeyFileError(f"{path} is not an Ed25519 signing key") from None


class FileSigner:
    """One of the bot's own Ed25519 signing keys, in a file of its own (made on first use):
    the intake key and the backup key share this; reviewers pin its fingerprint."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key = signing_key_file(path, unwritable="its folder must be writable by the bot only")

    @property
    def fingerprint(self) -> str:
        return signer_fingerprint(self._key.public_key())

    @property
    def public_hex(self) -> str:
        """The raw public key, hex, as signed objects name their signer."""
        return self._key.public_key().public_bytes_raw().hex()


@dataclass(frozen=True)
class HeldKey:
    """A delivery key pair the bot holds, and when it was made."""

    key: DeliveryKey
    created: datetime


class DeliveryKeyring:
    """The delivery keys and the signing key, in a folder of files (mode 0600 each)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.signing = self._signing_key()
        self.held: dict[str, HeldKey] = {}
        self.reload()

    def _signing_key(self) -> Ed25519PrivateKey:
        return signing_key_file(
            self.folder / SIGNING_FILE,
            unwritable="set AIGAQ_DELIVERY_KEY_DIR to a folder only the bot may read and write",
        )

    @property
    def fingerprint(self) -> str:
        """What reviewers pin: the signing key's fingerprint."""
        return signer_fingerprint(self.signing.public_key())

    def reload(self) -> None:
        """Read every delivery key file (another process of the bot may have made one)."""
        held = {}
        for path in sorted(self.folder.glob("*.key")):
            if path.name == SIGNING_FILE:
                continue
            try:
                body = json.loads(_read_private(path))
                if body.get("format") != KEY_FORMAT:
                    raise ValueError(body.get("format"))
                key = DeliveryKey(SUITE_IDS[body["suite"]], b64d(body["private"]))
                created = _moment(body["created"])
            except (ValueError, KeyError, TypeError):
                raise KeyFileError(f"{path} is not an {KEY_FORMAT} file") from None
            held[key.key_id] = HeldKey(key, created)
        self.held = held

    def current(self) -> HeldKey | None:
        """The newest delivery key, or None before the first is made."""
        return max(self.held.values(), key=lambda h: h.created, default=None)

    def get(self, key_id: str) -> DeliveryKey | None:
        """A delivery key by its id, looking at the folder again if this process lacks it."""
        if key_id not in self.held:
            self.reload()
        found = self.held.get(key_id)
        return found.key if found else None

    def make(self, now: datetime) -> HeldKey:
        """A new delivery key pair, written to its file."""
        key = DeliveryKey.generate(SUITE_MLKEM768_X25519)
        body = {
            "format": KEY_FORMAT,
            "suite": SUITE_NAMES[key.suite],
            "created": now.astimezone(UTC).isoformat(),
            "private": b64e(key.private_bytes()),
        }
        _write_private(self.folder / f"{key.key_id}.key", json.dumps(body) + "\n")
        held = HeldKey(key, now)
        self.held[key.key_id] = held
        return held

    def destroy(self, key_id: str) -> None:
        """Delete a delivery key's private half: what was sealed to it can't be opened again."""
        (self.folder / f"{key_id}.key").unlink(missing_ok=True)
        self.held.pop(key_id, None)

    def certificate(self, held: HeldKey, validity: timedelta) -> str:
        """The signed certificate of a key, valid from its making for `validity`."""
        return Certificate(
            key=held.key.public(),
            not_before=held.created,
            not_after=held.created + validity,
            signer=self.signing.public_key().public_bytes_raw(),
        ).sign(self.signing)
