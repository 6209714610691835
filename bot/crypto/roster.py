"""The team roster: who may read testimony, signed offline with the team's roster key.

A roster is one JSON file: the reviewers' public keys (their `aigaq-pub-v1` line and their
Ed25519 signing key), the bot's own public signing keys (the delivery certifier, the intake
signer, the backup signer), the submitting organisation's details for UN drafts, a version
that only goes up, and an Ed25519 signature over all of it by the roster key. The roster key
is kept on an admin's laptop; the bot and reviewer tools know only its fingerprint
(AIGAQ_ROSTER_KEY, or pinned at first use), so whoever writes to the database, or replaces
the file without that key, cannot choose who reads the next case.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.crypto.delivery import signer_fingerprint
from bot.crypto.errors import KeyFileError
from bot.crypto.keys import (
    PUBLIC_LINE_TAG,
    SIGNING_LINE_TAG,
    RecipientPublicKey,
    load_recipients,
    normalise_fingerprint,
)

FORMAT = "aigaq-roster-v1"
MAX_ROSTER_BYTES = 1 << 20
ROLES = ("delivery", "intake", "backup")
FINGERPRINT_LENGTH = 64


class RosterError(KeyFileError):
    """A roster that cannot be trusted: unreadable, unsigned, signed by another key, older
    than one seen before, or naming a key twice."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _verifying_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError:
        raise RosterError("a signing key in the roster is not an Ed25519 public key") from None


@dataclass(frozen=True)
class Organisation:
    """Who submits to the UN Working Groups (element (f) of a WGEID submission)."""

    name: str = ""
    address: str = ""
    contact: str = ""  # the contact person
    email: str = ""


@dataclass(frozen=True)
class Reviewer:
    key: RecipientPublicKey
    signing: Ed25519PublicKey | None = None

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    @property
    def signing_hex(self) -> str | None:
        """Her export-signing key, hex, as bundles name their signer."""
        return self.signing.public_bytes_raw().hex() if self.signing else None


@dataclass(frozen=True)
class Roster:
    version: int
    issued_at: datetime
    reviewers: tuple[Reviewer, ...]
    organisation: Organisation = Organisation()
    # role -> the fingerprint of the bot's own Ed25519 key for it (`aigaq keys inbox` for
    # `delivery`, `aigaq keys intake` for `intake`; `backup`): reviewer tools pin them from
    # here when their settings do not name them
    signers: dict[str, str] = field(default_factory=dict)
    signed_by: str = ""  # the roster key's fingerprint
    document: str = field(default="", repr=False)  # the signed file, as read

    @property
    def keys(self) -> list[RecipientPublicKey]:
        return [reviewer.key for reviewer in self.reviewers]

    def reviewer(self, fingerprint: str) -> Reviewer | None:
        """The reviewer with this full fingerprint (as typed or pasted), if listed."""
        wanted = normalise_fingerprint(fingerprint)
        return next((r for r in self.reviewers if r.fingerprint == wanted), None)


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign_roster(
    roster_key: Ed25519PrivateKey,
    *,
    version: int,
    reviewers: list[Reviewer],
    organisation: Organisation = Organisation(),
    signers: dict[str, str] | None = None,
    issued_at: datetime | None = None,
) -> str:
    """The signed roster file's text."""
    if version < 1:
        raise RosterError("a roster's version starts at 1")
    if not reviewers:
        raise RosterError("a roster needs at least one reviewer key")
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": version,
        "issued_at": (issued_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "key": _b64(roster_key.public_key().public_bytes_raw()),
        "organisation": vars(organisation),
        "reviewers": [
            {
                "kem": reviewer.key.to_line(),
                "signing": _b64(reviewer.signing.public_bytes_raw()) if reviewer.signing else None,
            }
            for reviewer in reviewers
        ],
        "signers": {
            role: normalise_fingerprint(value) for role, value in sorted((signers or {}).items())
        },
    }
    _check_unique(body)
    body["signature"] = _b64(roster_key.sign(_canonical(body)))
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def _check_unique(body: dict[str, Any]) -> None:
    lines = [RecipientPublicKey.from_line(r["kem"]).fingerprint for r in body["reviewers"]]
    if len(set(lines)) != len(lines):
        raise RosterError("the roster names a reviewer key twice")
    signers = body.get("signers", {})
    unknown = set(signers) - set(ROLES)
    if unknown:
        raise RosterError(f"unknown roster role {sorted(unknown)[0]!r}")
    for role, value in signers.items():
        if len(normalise_fingerprint(value)) != FINGERPRINT_LENGTH:
            raise RosterError(f"the {role} key's fingerprint must have 64 hex digits")


def parse_roster(text: str, pinned: str | None) -> Roster:
    """A roster whose signature holds and, when `pinned` is given, whose roster key has that
    fingerprint. With `pinned` None the caller pins `signed_by` itself (first use)."""
    if len(text.encode()) > MAX_ROSTER_BYTES:
        raise RosterError("the roster is larger than any real one (1 MiB)")
    try:
        body = json.loads(text)
        signature = base64.b64decode(body.pop("signature"), validate=True)
        if body.get("format") != FORMAT:
            raise RosterError(f"not an {FORMAT} file")
        key = _verifying_key(body["key"])
        fingerprint = signer_fingerprint(key)
        if pinned is not None and fingerprint != normalise_fingerprint(pinned):
            raise RosterError(
                f"the roster is signed by key {fingerprint}, not by the pinned roster key "
                f"{normalise_fingerprint(pinned)}: it is not your team's roster"
            )
        try:
            key.verify(signature, _canonical(body))
        except InvalidSignature:
            raise RosterError("the roster's signature does not hold: it was changed") from None
        _check_unique(body)
        reviewers = tuple(
            Reviewer(
                RecipientPublicKey.from_line(entry["kem"]),
                _verifying_key(entry["signing"]) if entry.get("signing") else None,
            )
            for entry in body["reviewers"]
        )
        return Roster(
            version=int(body["version"]),
            issued_at=datetime.fromisoformat(body["issued_at"]),
            reviewers=reviewers,
            organisation=Organisation(**body.get("organisation", {})),
            signers=dict(body.get("signers", {})),
            signed_by=fingerprint,
            document=text,
        )
    except RosterError:
        raise
    except (KeyError, TypeError, ValueError, KeyFileError) as exc:
        raise RosterError(f"the roster cannot be read ({type(exc).__name__}: {exc})") from None


def read_roster(path: Path, pinned: str | None) -> Roster:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RosterError(
            f"the roster {path} does not exist: an admin signs one with `aigaq keys roster sign`"
        ) from None
    except OSError as exc:
        raise RosterError(f"the roster {path} cannot be read ({type(exc).__name__})") from None
    try:
        return parse_roster(text, pinned)
    except RosterError as exc:
        raise RosterError(f"{path}: {exc}") from None


def check_version(roster: Roster, seen_file: Path, *, remember: bool = True) -> None:
    """Refuse a roster older than the newest this machine has seen; with `remember`, keep
    this one's version (a file beside the key that trusts it, never the database)."""
    seen = _seen_version(seen_file)
    if roster.version < seen:
        raise RosterError(
            f"the roster is version {roster.version}, but version {seen} was seen before: "
            "an older roster was put back"
        )
    if remember and roster.version > seen:
        _remember_version(seen_file, roster.version)


def _seen_version(seen_file: Path) -> int:
    """The version the seen file holds; 0 only when there is no file. An empty or damaged
    file is refused, not read as 0: that would let an older roster back in."""
    try:
        text = seen_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{seen_file} cannot be read ({type(exc).__name__})") from None
    if not (text.isascii() and text.isdigit()):
        raise RosterError(
            f"{seen_file} holds no roster version ({'empty' if not text else 'damaged'}): "
            "delete it only if you are sure no newer roster was used on this machine"
        )
    return int(text)


def _remember_version(seen_file: Path, version: int) -> None:
    """Write the seen file whole (mode 0600) and move it into place, so a crash leaves the
    old version or the new one, never an empty file."""
    try:
        seen_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{seen_file.name}.", dir=seen_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"{version}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, seen_file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RosterError(
            f"cannot write {seen_file} ({type(exc).__name__}): set AIGAQ_ROSTER_SEEN_FILE "
            "to a file the bot may write"
        ) from None


def write_roster(
    path: Path,
    roster_key: Ed25519PrivateKey,
    keys: list[RecipientPublicKey] | list[Reviewer],
    *,
    version: int = 1,
    signers: dict[str, str] | None = None,
) -> str:
    """Sign a roster of these reviewer keys into `path`; returns the roster key's
    fingerprint (what the bot's AIGAQ_ROSTER_KEY names). For `aigaq try` and the tests,
    which make a throw-away roster key; a real team signs with `aigaq keys roster sign`."""
    path.write_text(
        sign_roster(
            roster_key,
            version=version,
            reviewers=[k if isinstance(k, Reviewer) else Reviewer(k) for k in keys],
            signers=signers,
        ),
        encoding="utf-8",
    )
    return signer_fingerprint(roster_key.public_key())


def load_reviewer_lines(path: Path) -> list[Reviewer]:
    """The reviewers of a recipients file: each `aigaq-pub-v1` line, with the
    `aigaq-sign-v1 <hex>` line after it if there is one (her export-signing key)."""
    keys = {key.fingerprint: key for key in load_recipients(path)}
    reviewers: list[Reviewer] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if parts and parts[0] == PUBLIC_LINE_TAG:
            reviewers.append(Reviewer(keys[RecipientPublicKey.from_line(line).fingerprint]))
        elif parts and parts[0] == SIGNING_LINE_TAG:
            if not reviewers or reviewers[-1].signing is not None or len(parts) < 2:
                raise RosterError(
                    f"{path}, line {number}: a signing line belongs right after "
                    "its reviewer's aigaq-pub-v1 line"
                )
            try:
                signing = Ed25519PublicKey.from_public_bytes(bytes.fromhex(parts[1]))
            except ValueError:
                raise RosterError(f"{path}, line {number}: not an Ed25519 public key") from None
            reviewers[-1] = Reviewer(reviewers[-1].key, signing)
    return reviewers
