"""A signed export bundle, checked as its receiver would check it (`aigaq export verify`).

The zip is hostile until proven otherwise: every entry must be listed in the signed manifest
exactly once, under a plain relative name, or other tools could extract something that was
never checked (security review M1). Then the signature, every file's SHA-256, and who signed:
a reviewer of the team roster the bundle carries, verified against the roster key the
receiver pinned. Documented in docs/export.md.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.crypto.roster import MAX_ROSTER_BYTES, RosterError, parse_roster

# Read whole before its signature can be checked, so bounded (a zip bomb would fit in a
# few kilobytes). A real manifest lists about 120 bytes per file.
MAX_MANIFEST_SIZE = 16 * 1024 * 1024
MAX_SIGNATURE_SIZE = 1024
# What zipfile raises on a damaged, encrypted or oddly compressed entry.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError)


class ExportError(Exception):
    """Nothing could be exported, or a bundle does not verify."""


ROSTER_ENTRY = "roster.json"


def verify_bundle(path: Path, signer: str | None = None) -> int:
    """Check a bundle's signature and every file's SHA-256; returns the number of files.

    The zip itself is hostile until proven otherwise: every entry must be listed in the
    signed manifest exactly once, under a plain relative name, or other tools could extract
    something that was never checked (security review M1).
    """
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        raise ExportError(f"{path} is not a zip file") from None
    with bundle:
        names = _check_entry_names(bundle)
        manifest = _read_bounded(bundle, "manifest.json", MAX_MANIFEST_SIZE)
        try:
            signature = bytes.fromhex(
                _read_bounded(bundle, "manifest.sig", MAX_SIGNATURE_SIZE).decode()
            )
        except ValueError:
            raise ExportError("the bundle has no valid manifest and signature") from None
        try:
            body = json.loads(manifest)
            claimed = body["signer"]
        except (ValueError, TypeError, KeyError):
            raise ExportError("the bundle's manifest is not valid JSON with a signer") from None
        if signer is not None and signer.lower() != claimed:
            raise ExportError("the bundle was signed by another key than the one expected")
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(claimed)).verify(signature, manifest)
        except (InvalidSignature, ValueError, TypeError):
            raise ExportError("the manifest's signature does not verify") from None
        files = _listed_files(body)
        unlisted = sorted(names - set(files) - {"manifest.json", "manifest.sig"})
        if unlisted:
            raise ExportError(
                f"the bundle holds {len(unlisted)} entries its manifest does not list, "
                f"such as {unlisted[0]!r}"
            )
        for name, expected in files.items():
            digest = hashlib.sha256()
            try:
                with bundle.open(name) as member:
                    while chunk := member.read(1 << 16):
                        digest.update(chunk)
            except KeyError:
                raise ExportError(f"{name!r} is listed but missing") from None
            except _UNREADABLE:
                raise ExportError(f"{name!r} is damaged or cannot be read") from None
            if digest.hexdigest() != expected:
                raise ExportError(f"{name!r} does not match its SHA-256")
        return len(files)


def _check_entry_names(bundle: zipfile.ZipFile) -> set[str]:
    """The entries' names, once each checked to be unique, relative and without `..`."""
    names: set[str] = set()
    for name in bundle.namelist():
        if name in names:
            raise ExportError(f"the bundle holds two entries named {name!r}")
        if not _plain_name(name):
            raise ExportError(f"the bundle holds an unsafe entry name: {name!r}")
        names.add(name)
    return names


def _plain_name(name: str) -> bool:
    """A relative path with forward slashes only, no `..` part, no drive letter."""
    parts = name.split("/")
    return (
        bool(name)
        and "\\" not in name
        and not name.startswith("/")
        and ":" not in parts[0]
        and all(part not in ("", ".", "..") for part in parts)
    )


def _read_bounded(bundle: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """An entry read whole, refused if it is (or inflates to) more than `limit` bytes."""
    try:
        info = bundle.getinfo(name)
    except KeyError:
        raise ExportError("the bundle has no valid manifest and signature") from None
    if info.file_size > limit:
        raise ExportError(f"{name} is larger than {limit} bytes")
    try:
        with bundle.open(info) as member:
            data = member.read(limit + 1)
    except _UNREADABLE:
        raise ExportError(f"{name} is damaged or cannot be read") from None
    if len(data) > limit:
        raise ExportError(f"{name} is larger than {limit} bytes")
    return data


def _listed_files(body: Any) -> dict[str, str]:
    """The signed manifest's files as path -> SHA-256, each path plain and listed once."""
    files: dict[str, str] = {}
    try:
        for entry in body["files"]:
            name, digest = entry["path"], entry["sha256"]
            if not isinstance(name, str) or not isinstance(digest, str):
                raise TypeError
            if name in files:
                raise ExportError(f"the manifest lists {name!r} twice")
            if not _plain_name(name):
                raise ExportError(f"the manifest lists an unsafe path: {name!r}")
            files[name] = digest
    except (KeyError, TypeError):
        raise ExportError("the bundle's manifest does not list its files properly") from None
    return files


def who_signed(path: Path, roster_key: str, min_version: int | None = None) -> str:
    """Who among the team signed a bundle that `verify_bundle` passed: the reviewer of the
    roster it carries whose export-signing key signed it, that roster verified against the
    roster key `roster_key` names and, given `min_version`, not older than that (a reviewer
    who left is still listed in the rosters from before). ExportError (UNTRUSTED) otherwise."""
    with zipfile.ZipFile(path) as bundle:
        body = json.loads(_read_bounded(bundle, "manifest.json", MAX_MANIFEST_SIZE))
        if ROSTER_ENTRY not in _listed_files(body):
            raise ExportError(
                "UNTRUSTED: the signature holds, but the bundle carries no team roster to "
                "tell whose key signed it"
            )
        raw = _read_bounded(bundle, ROSTER_ENTRY, MAX_ROSTER_BYTES)
    try:
        roster = parse_roster(raw.decode("utf-8"), roster_key)
    except UnicodeDecodeError:
        raise ExportError(f"UNTRUSTED: the bundle's {ROSTER_ENTRY} is not UTF-8 text") from None
    except RosterError as exc:
        raise ExportError(f"UNTRUSTED: {exc}") from None
    issued = f"{roster.issued_at:%Y-%m-%d}"
    if min_version is not None and roster.version < min_version:
        raise ExportError(
            f"UNTRUSTED: the bundle carries roster version {roster.version} (issued {issued}), "
            f"older than version {min_version}: whoever signed it may have left the team since"
        )
    signer = str(body["signer"]).lower()
    for reviewer in roster.reviewers:
        if reviewer.signing_hex == signer:
            label = reviewer.key.label or "no label"
            key = reviewer.fingerprint[:16]
            return f"reviewer {label} ({key}…) of roster version {roster.version}, issued {issued}"
    raise ExportError(
        f"UNTRUSTED: the bundle was signed by {signer}, which the team roster does not list"
    )
