"""The signed roster decides who reads testimony: not the database, not a replaced file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update

from bot.app import build_application
from bot.crypto.roster import (
    Reviewer as Listed,
)
from bot.crypto.roster import (
    RosterError,
    check_version,
    key_fingerprint,
    parse_roster,
    read_roster,
    sign_roster,
    write_roster,
)
from bot.doctor import run_checks
from bot.models import AuditEntry, Recipient, SealedKey
from bot.reviewing.keys import ReviewerKey
from bot.settings import SettingsError
from tests.harness import Harness
from tests.scenario import PERSONS, walk_intake


def _signed(key: Ed25519PrivateKey, *publics: ReviewerKey, version: int = 1) -> str:
    return sign_roster(key, version=version, reviewers=[Listed(k.public()) for k in publics])


def test_a_roster_holds_only_as_signed_by_the_pinned_key(tmp_path: Path) -> None:
    roster_key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pinned = key_fingerprint(roster_key.public_key())
    aida, mallory = ReviewerKey.generate(), ReviewerKey.generate()
    text = _signed(roster_key, aida)
    assert [r.fingerprint for r in parse_roster(text, pinned).reviewers] == [
        aida.public().fingerprint
    ]
    # A reviewer added to the file, or a label changed, breaks the signature.
    body = json.loads(text)
    body["reviewers"].append({"kem": mallory.public().to_line(), "signing": None})
    with pytest.raises(RosterError, match="signature does not hold"):
        parse_roster(json.dumps(body), pinned)
    # A roster signed by anyone else's key is not the team's, however well signed.
    with pytest.raises(RosterError, match="not by the pinned roster key"):
        parse_roster(_signed(stranger, mallory), pinned)
    with pytest.raises(RosterError, match="twice"):
        _signed(roster_key, aida, aida)
    with pytest.raises(RosterError, match="larger than"):
        parse_roster(" " * (2 << 20), pinned)
    with pytest.raises(RosterError, match="cannot be read"):
        parse_roster("{}", pinned)


def test_an_older_roster_put_back_is_refused(tmp_path: Path) -> None:
    roster_key = Ed25519PrivateKey.generate()
    pinned = key_fingerprint(roster_key.public_key())
    aida, gone = ReviewerKey.generate(), ReviewerKey.generate()
    seen = tmp_path / "roster.json.seen"
    check_version(parse_roster(_signed(roster_key, aida, gone, version=1), pinned), seen)
    check_version(parse_roster(_signed(roster_key, aida, version=2), pinned), seen)
    with pytest.raises(RosterError, match="version 2 was seen before"):
        check_version(parse_roster(_signed(roster_key, aida, gone, version=1), pinned), seen)


async def test_the_bot_does_not_start_without_a_pinned_valid_roster(harness: Harness) -> None:
    unpinned = harness.settings.model_copy(update={"roster_key": None})
    with pytest.raises(SettingsError, match="AIGAQ_ROSTER_KEY"):
        build_application(unpinned, request=harness.api)
    forged = harness.settings.roster.with_name("forged.json")
    write_roster(forged, Ed25519PrivateKey.generate(), [ReviewerKey.generate().public()])
    with pytest.raises(RosterError, match="not by the pinned roster key"):
        build_application(
            harness.settings.model_copy(update={"roster": forged}), request=harness.api
        )


async def test_a_swapped_or_inserted_recipient_row_gets_nothing(harness: Harness) -> None:
    """Someone who can write to the database points the reviewer's row at his own key and
    adds an active row of his own: the bot still seals every answer, file and case to the
    roster's key only; `doctor` names both rows; the next start puts the row back."""
    mallory = ReviewerKey.generate().public()
    eve = ReviewerKey.generate().public()
    sessionmaker = harness.services.sessionmaker
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Recipient)
            .where(Recipient.key_id == harness.reviewer.key_id)
            .values(public_key=mallory.public_bytes)
        )
        session.add(
            Recipient(
                key_id=eve.key_id,
                suite=eve.suite,
                public_key=eve.public_bytes,
                label="",
                active=True,
            )
        )
    user = harness.user(user_id=9100, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    async with sessionmaker() as session:
        eve_id = await session.scalar(select(Recipient.id).where(Recipient.key_id == eve.key_id))
        to_eve = await session.scalar(
            select(func.count(SealedKey.id)).where(SealedKey.recipient_id == eve_id)
        )
    assert to_eve == 0
    # What was sealed opens with the roster's key (never Mallory's, which the row named).
    case = await harness.open_case(code)
    assert case["detainees"][0]["name"] == PERSONS[0]["name"]
    checks = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    roster = checks["roster"]
    assert not roster.ok
    assert harness.reviewer.key_id in roster.detail and eve.key_id in roster.detail
    app = await harness.restart()
    async with app.services.sessionmaker() as session:
        row = await session.scalar(
            select(Recipient).where(Recipient.key_id == harness.reviewer.key_id)
        )
        assert row is not None and row.public_key == harness.reviewer.public().public_bytes
        assert not await session.scalar(
            select(Recipient.active).where(Recipient.key_id == eve.key_id)
        )
        audited = list(
            await session.scalars(
                select(AuditEntry.target).where(AuditEntry.action == "roster.mismatch")
            )
        )
    assert set(audited) == {harness.reviewer.key_id, eve.key_id}
    checks = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    assert checks["roster"].ok, checks["roster"].detail


async def test_doctor_fails_when_the_roster_key_is_on_the_server(harness: Harness) -> None:
    stray = harness.settings.secret_key_file.parent / "roster-signing.key"
    stray.write_bytes(
        harness.roster_key.public_key().public_bytes_raw()  # a public key is fine to keep
    )
    checks = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    assert checks["roster"].ok
    source = harness.settings.roster.parent / "admin-laptop" / "roster-signing.key"
    stray.write_bytes(source.read_bytes())
    checks = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    assert not checks["roster"].ok and "roster key itself is on this server" in (
        checks["roster"].detail
    )
    assert read_roster(harness.settings.roster, harness.settings.roster_key).version == 1
