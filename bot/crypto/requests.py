"""A reviewer's signed request: how her tools ask the bot to write (DESIGN.md, "Sealing and
trust").

Reviewer tools only read the database; a decision, a note, a question, a duplicate link, a
rewrap batch, a revocation or an audit event is a request she signs with her export-signing
key (the roster lists it) and leaves in `reviewer_requests` (or in a file the operator
applies). The bot, the only writer, verifies it against the roster it holds and applies it.
Whoever writes to the database can add rows there, but not sign them: a forged, altered,
replayed or foreign request is refused.

The document is JSON: {"format", "request": {id, kind, team, made_at, head, body}, "signer",
"signature"}; the signature is Ed25519 over a tag and the request's canonical JSON, and the
request's digest (SHA-256 of that canonical JSON) names it once and for all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.crypto.errors import CryptoError

FORMAT = "aigaq-request-v1"
TAG = b"aigaq-request-sig-v1\x00"
MAX_REQUEST_BYTES = 1 << 20
KINDS = (
    "decision",
    "question",
    "confirm",
    "assign",
    "link",
    "rewrap",
    "revoke",
    "event",
    "head",
)


class RequestError(CryptoError):
    """A request that cannot be taken: unreadable, too large, or its signature does not hold."""


def canonical(value: Any) -> bytes:
    """One byte string per content: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: Any, what: str) -> bytes:
    """Standard base64 from a request, or RequestError naming the field."""
    if not isinstance(text, str):
        raise RequestError(f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"{what} is not base64") from None


@dataclass(frozen=True)
class SignedRequest:
    """A request as signed: the document to hand over and the digest that names it."""

    document: str
    digest: str
    kind: str


@dataclass(frozen=True)
class Request:
    """A request whose signature holds (whose key it is, the bot still checks)."""

    id: str
    kind: str
    team: str
    made_at: datetime
    head: tuple[int, str] | None
    body: dict[str, Any]
    signer: str  # her Ed25519 public key, hex
    digest: str


def sign_request(
    signing_key: Ed25519PrivateKey,
    kind: str,
    body: dict[str, Any],
    *,
    team: str,
    head: tuple[int, str] | None = None,
    made_at: datetime | None = None,
) -> SignedRequest:
    """Sign one request; `team` is the fingerprint of the roster key her tools pinned."""
    if kind not in KINDS:
        raise RequestError(f"unknown kind of request {kind!r}")
    request = {
        "id": secrets.token_hex(16),
        "kind": kind,
        "team": team,
        "made_at": (made_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "head": {"row": head[0], "sha256": head[1]} if head else None,
        "body": body,
    }
    signed = canonical(request)
    document = {
        "format": FORMAT,
        "request": request,
        "signer": signing_key.public_key().public_bytes_raw().hex(),
        "signature": b64(signing_key.sign(TAG + signed)),
    }
    text = canonical(document).decode()
    if len(text.encode()) > MAX_REQUEST_BYTES:
        raise RequestError("the request is larger than 1 MiB: send it in smaller parts")
    return SignedRequest(text, hashlib.sha256(signed).hexdigest(), kind)


def verify_request(document: str | bytes) -> Request:
    """The request, if its signature by the key it names holds (RequestError otherwise)."""
    raw = document.encode() if isinstance(document, str) else document
    if len(raw) > MAX_REQUEST_BYTES:
        raise RequestError("the request is larger than 1 MiB")
    try:
        outer = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RequestError("the request is not JSON") from None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise RequestError(f"not an {FORMAT} request")
    request = outer.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("body"), dict):
        raise RequestError("the request has no body")
    try:
        signer = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(outer.get("signer"))))
    except ValueError:
        raise RequestError("the request's signer is not an Ed25519 public key") from None
    signed = canonical(request)
    try:
        signer.verify(unb64(outer.get("signature"), "the signature"), TAG + signed)
    except InvalidSignature:
        raise RequestError("the request's signature does not hold") from None
    return Request(
        id=_text(request, "id"),
        kind=_kind(request),
        team=_text(request, "team"),
        made_at=_when(request),
        head=_head(request.get("head")),
        body=request["body"],
        signer=signer.public_bytes_raw().hex(),
        digest=hashlib.sha256(signed).hexdigest(),
    )


def _text(request: dict[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise RequestError(f"the request has no {name}")
    return value


def _kind(request: dict[str, Any]) -> str:
    kind = _text(request, "kind")
    if kind not in KINDS:
        raise RequestError(f"unknown kind of request {kind!r}")
    return kind


def _when(request: dict[str, Any]) -> datetime:
    try:
        made = datetime.fromisoformat(_text(request, "made_at"))
    except ValueError:
        raise RequestError("the request's time cannot be read") from None
    if made.tzinfo is None:
        raise RequestError("the request's time has no time zone")
    return made


def _head(value: Any) -> tuple[int, str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("row"), int)
        or not isinstance(value.get("sha256"), str)
    ):
        raise RequestError("the request's audit head cannot be read")
    return value["row"], value["sha256"]
