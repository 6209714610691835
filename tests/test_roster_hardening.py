"""An older roster cannot come back: not through a damaged seen file, `aigaq doctor`, the
rosters table or an old roster carried in a bundle."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from bot.cli import app
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.roster import Reviewer as Listed
from bot.crypto.roster import RosterError, check_version, parse_roster, sign_roster
from bot.doctor import run_checks
from bot.reviewing.bundle import ExportError, verify_bundle, who_signed
from bot.reviewing.keys import ReviewerKey
from bot.roster_copy import RosterCopy
from tests.harness import Harness

ROSTER_KEY = Ed25519PrivateKey.generate()
PINNED = signer_fingerprint(ROSTER_KEY.public_key())
AIDA = ReviewerKey.generate()
ISSUED = datetime(2026, 11, 1, tzinfo=UTC)


def _roster_text(version: int) -> str:
    listed = Listed(AIDA.public(), AIDA.signing_key().public_key())
    return sign_roster(ROSTER_KEY, version=version, reviewers=[listed], issued_at=ISSUED)


def _bundle(path: Path, roster: bytes) -> Path:
    """A bundle Aida signed, carrying `roster` as its roster.json."""
    entries = {"cases.jsonl": b'{"code": "AB12CD"}\n', "roster.json": roster}
    manifest = json.dumps(
        {
            "format": "aigaq-bundle-v1",
            "created_at": "2026-11-20T10:00:00+00:00",
            "signer": AIDA.signing_public_hex(),
            "files": [
                {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                for name, data in entries.items()
            ],
        }
    ).encode()
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
        bundle.writestr("manifest.json", manifest)
        bundle.writestr("manifest.sig", AIDA.signing_key().sign(manifest).hex())
    return path


@pytest.mark.parametrize("content", [b"", b"\n", b"  ", b"3\x00\x00", b"seven", b"-1", b"\xff"])
def test_an_empty_or_damaged_seen_file_refuses_and_stays(tmp_path: Path, content: bytes) -> None:
    """A crash mid-write, or someone emptying the file, must not reset the version to 0."""
    seen = tmp_path / "roster.json.seen"
    seen.write_bytes(content)
    with pytest.raises(RosterError) as refused:
        check_version(parse_roster(_roster_text(1), PINNED), seen)
    assert str(seen) in str(refused.value)
    assert seen.read_bytes() == content


def test_an_older_roster_after_a_newer_is_refused(tmp_path: Path) -> None:
    seen = tmp_path / "fresh" / "roster.json.seen"
    check_version(parse_roster(_roster_text(1), PINNED), seen)  # a missing file is version 0
    check_version(parse_roster(_roster_text(3), PINNED), seen)
    assert seen.read_text() == "3\n"
    assert stat.S_IMODE(seen.stat().st_mode) == 0o600
    assert [p.name for p in seen.parent.iterdir()] == [seen.name]  # no temporary left behind
    with pytest.raises(RosterError, match="version 3 was seen before"):
        check_version(parse_roster(_roster_text(2), PINNED), seen)
    check_version(parse_roster(_roster_text(3), PINNED), seen)  # the same one again is fine


def test_remember_false_only_checks(tmp_path: Path) -> None:
    seen = tmp_path / "roster.json.seen"
    check_version(parse_roster(_roster_text(2), PINNED), seen, remember=False)
    assert not seen.exists()
    seen.write_text("2\n")
    check_version(parse_roster(_roster_text(5), PINNED), seen, remember=False)
    assert seen.read_text() == "2\n"
    with pytest.raises(RosterError, match="version 2 was seen before"):
        check_version(parse_roster(_roster_text(1), PINNED), seen, remember=False)


async def test_doctor_writes_no_seen_file_and_names_a_foreign_stored_roster(
    harness: Harness, tmp_path: Path
) -> None:
    """Doctor (perhaps run as root) leaves the seen file to the bot, and names a roster a
    database writer stored, signed by his own key, for reviewer tools to pin at first use."""
    unseen = tmp_path / "doctor-only" / "roster.json.seen"
    settings = harness.settings.model_copy(update={"roster_seen_file": unseen})
    checks = {c.name: c for c in await run_checks(settings, request=harness.api)}
    assert checks["roster"].ok, checks["roster"].detail
    assert not unseen.exists() and not unseen.parent.exists()
    bots = harness.settings.roster_seen()
    before = bots.read_bytes()
    mallory = ReviewerKey.generate()
    forged = sign_roster(
        Ed25519PrivateKey.generate(), version=7, reviewers=[Listed(mallory.public())]
    )
    async with harness.services.sessionmaker() as session, session.begin():
        session.add(RosterCopy(version=7, document=forged))
        session.add(RosterCopy(version=8, document="not a roster at all"))
    checks = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    roster = checks["roster"]
    assert not roster.ok
    assert "version(s) 7, 8 not signed by the pinned roster key" in roster.detail
    assert bots.read_bytes() == before


def test_a_roster_entry_that_is_not_utf8_is_untrusted_not_a_traceback(tmp_path: Path) -> None:
    path = _bundle(tmp_path / "b.zip", b"\xff\xfe" + _roster_text(1).encode("utf-16-le"))
    assert verify_bundle(path, AIDA.signing_public_hex()) == 2
    with pytest.raises(ExportError, match=r"UNTRUSTED: the bundle's roster\.json is not UTF-8"):
        who_signed(path, PINNED)
    result = CliRunner().invoke(app, ["export", "verify", str(path), "--roster-key", PINNED])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_min_roster_version_refuses_a_bundle_carrying_an_older_roster(tmp_path: Path) -> None:
    """A departed reviewer can still sign with the roster from before she left; a partner
    told the current version refuses it, and the success line shows what to compare."""
    path = _bundle(tmp_path / "old.zip", _roster_text(2).encode())

    def verify(*extra: str) -> tuple[int, str]:
        argv = ["export", "verify", str(path), "--roster-key", PINNED, *extra]
        result = CliRunner().invoke(app, argv)
        return result.exit_code, result.output

    code, output = verify()
    assert code == 0 and "of roster version 2, issued 2026-11-01" in output
    assert verify("--min-roster-version", "2")[0] == 0
    code, output = verify("--min-roster-version", "3")
    assert code == 1 and "UNTRUSTED" in output
    assert "roster version 2 (issued 2026-11-01), older than version 3" in output
    code, output = verify("--min-roster-version", "3", "--signer", AIDA.signing_public_hex())
    assert code == 2 and "--roster-key" in output
    with pytest.raises(ExportError, match="older than version 3"):
        who_signed(path, PINNED, min_version=3)
