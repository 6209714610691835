"""The bot's intake signing key, and the signed form of a case's manifest.

At Submit the bot signs the case's manifest (the uids and ciphertext SHA-256 of every sealed
answer and file, with the control values) with an Ed25519 key of its own: a file beside the
server key (`intake.key`, mode 0600, made at first start), apart from the delivery signing
key because the roster gives `intake` and `delivery` separate roles. Reviewer tools pin its
fingerprint (`aigaq keys intake`, AIGAQ_INTAKE_FINGERPRINT) and refuse a manifest it did not
sign. The signed manifest is then sealed to the reviewers like any case (docs/sealing.md).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.crypto.delivery import FileSigner, signer_fingerprint
from bot.crypto.errors import CryptoError
from bot.crypto.keys import b64d, b64e, normalise_fingerprint

MANIFEST_FORMAT = "aigaq-manifest-v1"
SIGNED_TAG = b"aigaq-manifest-sig-v1\x00"
RECEIPT_TAG = b"aigaq-receipt-sig-v2\x00"
ANCHOR_TAG = b"aigaq-anchor-v1\x00"


def anchor_message(kind: str, uid: str, code: str, digest: str) -> bytes:
    """What an anchor's signature covers: which object, of which case, with which ciphertext."""
    return ANCHOR_TAG + f"{kind}\n{uid}\n{code}\n{digest}".encode()


def sign_anchor(
    key: Ed25519PrivateKey, kind: str, uid: str, code: str, digest: str
) -> dict[str, str]:
    """An audit row's anchor of a sealed object, signed: a database writer can append rows
    to the log, but not rows signed by a key reviewer tools pin."""
    return {
        "kind": kind,
        "uid": uid,
        "signer": key.public_key().public_bytes_raw().hex(),
        "signature": b64e(key.sign(anchor_message(kind, uid, code, digest))),
    }


def anchor_signed(
    detail: dict[str, Any], kind: str, uid: str, code: str, digest: str, signers: set[str]
) -> bool:
    """Whether this audit detail anchors this object with a signature by a key whose
    fingerprint is one of `signers`."""
    if detail.get("kind") != kind or detail.get("uid") != uid:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(detail.get("signer", ""))))
    except ValueError:
        return False
    if signer_fingerprint(public) not in signers:
        return False
    try:
        public.verify(b64d(str(detail["signature"])), anchor_message(kind, uid, code, digest))
    except (InvalidSignature, KeyError, ValueError, CryptoError):
        return False
    return True


INTAKE_FILE = "intake.key"


class ManifestError(CryptoError):
    """A manifest that is damaged, unsigned, signed by another key, or altered."""


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def is_signed_manifest(raw: Any) -> bool:
    """Whether an opened case object is a signed manifest (not an old whole record)."""
    return isinstance(raw, dict) and raw.get("format") == MANIFEST_FORMAT


class IntakeSigner(FileSigner):
    """The bot's intake signing key (reviewers pin it as AIGAQ_INTAKE_FINGERPRINT)."""

    def sign_anchor(self, kind: str, uid: str, code: str, digest: str) -> dict[str, str]:
        return sign_anchor(self._key, kind, uid, code, digest)

    def bind_receipt(self, uid: str, code: str, receipt_hash: str) -> bytes:
        """Which case a receipt's hash belongs to, signed: its uid (which its sealed payload
        is bound to, so the testimony cannot move with it) and code. A database writer who
        moves the hash, or the hash with the code, cannot sign the move."""
        return self._key.sign(RECEIPT_TAG + f"{uid}\n{code}\n{receipt_hash}".encode())

    def receipt_bound(
        self, uid: str, code: str, receipt_hash: str, signature: bytes | None
    ) -> bool:
        """Whether this receipt hash was bound to this case by this key."""
        if not signature:
            return False
        try:
            self._key.public_key().verify(
                signature, RECEIPT_TAG + f"{uid}\n{code}\n{receipt_hash}".encode()
            )
        except InvalidSignature:
            return False
        return True

    def sign(self, manifest: dict[str, Any]) -> bytes:
        """The signed manifest, as sealed: JSON with the manifest, the signer and the signature."""
        body = canonical(manifest)
        signed = {
            "format": MANIFEST_FORMAT,
            "manifest": manifest,
            "signer": self._key.public_key().public_bytes_raw().hex(),
            "signature": b64e(self._key.sign(SIGNED_TAG + body)),
        }
        return json.dumps(signed, ensure_ascii=False).encode()


def verify_manifest(raw: dict[str, Any], pinned: str | None) -> dict[str, Any]:
    """The manifest, if its signature verifies (by a pinned key, when any is pinned: one
    fingerprint, or several separated by commas after the intake key was replaced); a
    ManifestError saying what is wrong otherwise."""
    try:
        manifest = raw["manifest"]
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw["signer"]))
        signature = b64d(raw["signature"])
    except (KeyError, TypeError, ValueError, CryptoError):
        raise ManifestError(
            "the case's manifest is damaged: its signature cannot be read"
        ) from None
    found = signer_fingerprint(public)
    allowed = [normalise_fingerprint(one) for one in (pinned or "").split(",") if one.strip()]
    if pinned is not None and found not in allowed:
        raise ManifestError(
            f"the case's manifest is signed by key {found}, not by the bot's intake key you "
            f"pinned ({', '.join(allowed)}): someone wrote it into the database"
        )
    try:
        public.verify(signature, SIGNED_TAG + canonical(manifest))
    except InvalidSignature:
        raise ManifestError(
            "the case's manifest does not verify against its signature: it was altered"
        ) from None
    if not isinstance(manifest, dict):
        raise ManifestError("the case's manifest is damaged")
    return manifest
