"""The signed roster decides who reads testimony: not the database, not a replaced file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, select, update

from bot.app import build_application
from bot.crypto.delivery import signer_fingerprint
from bot.crypto.roster import (
    Reviewer as Listed,
)
from bot.crypto.roster import (
    RosterError,
    check_version,
    parse_roster,
    read_roster,
    sign_roster,
    write_roster,
)
from bot.doctor import run_checks
from bot.models import AuditEntry, CaseNote, CaseStatus, Recipient, SealedKey
from bot.reviewing.cases import Reviewer
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import ReviewError
from bot.reviewing.rewrap import NotCovered, StillListed, revoke, rewrap
from bot.reviewing.roster_pin import RosterPin
from bot.roster_copy import RosterCopy
from bot.settings import SettingsError
from tests.harness import Harness
from tests.scenario import PERSONS, walk_intake


def _signed(key: Ed25519PrivateKey, *publics: ReviewerKey, version: int = 1) -> str:
    return sign_roster(key, version=version, reviewers=[Listed(k.public()) for k in publics])


def test_a_roster_holds_only_as_signed_by_the_pinned_key(tmp_path: Path) -> None:
    roster_key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pinned = signer_fingerprint(roster_key.public_key())
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
    pinned = signer_fingerprint(roster_key.public_key())
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


async def test_reviewer_tools_pin_the_roster_key_at_first_use_and_trust_nothing_else(
    harness: Harness,
) -> None:
    """Her tools read the roster the bot stored, pin its key the first time (with no
    AIGAQ_ROSTER_KEY of their own), and afterwards refuse a roster a database writer signed
    with his own key or an older one he put back: nothing is sealed to anyone then."""
    user = harness.user(user_id=9200, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    colleague = ReviewerKey.generate()
    await harness.sign_roster([harness.reviewer.public(), colleague.public()])  # version 2
    pin = RosterPin(harness.settings.roster.parent / "her.key")  # nothing pinned in settings
    tools = Reviewer(
        harness.services.sessionmaker,
        harness.reviewer,
        inbox_fingerprint=harness.inbox_fingerprint,
        intake_fingerprint=harness.intake_fingerprint,
        roster_pin=pin,
    )
    await tools.decisions.set_status(code, CaseStatus.IN_REVIEW, note="first look")
    assert pin.first_use == signer_fingerprint(harness.roster_key.public_key())
    assert pin.pin_file.read_text().strip() == pin.first_use
    # A database writer stores a roster of his own, with a higher version.
    mallory = ReviewerKey.generate()
    forged = sign_roster(
        Ed25519PrivateKey.generate(), version=3, reviewers=[Listed(mallory.public())]
    )
    sessionmaker = harness.services.sessionmaker
    async with sessionmaker() as session, session.begin():
        session.add(RosterCopy(version=3, document=forged))
    with pytest.raises(ReviewError, match="not by the pinned roster key"):
        await tools.decisions.set_status(code, CaseStatus.VERIFIED, note="second look")
    with pytest.raises(ReviewError, match="not by the pinned roster key"):
        await rewrap(
            sessionmaker,
            harness.reviewer,
            mallory.public().fingerprint,
            team=tools.team,
            requests=harness.requests_of(harness.reviewer),
        )
    # He takes his and the newest real one away: version 1 is older than her machine saw.
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(RosterCopy).where(RosterCopy.version >= 2))
    with pytest.raises(ReviewError, match="version 2 was seen before"):
        await tools.followups.ask(code, "Is his ID 654321198501011234?")
    async with sessionmaker() as session:
        notes = await session.scalar(select(func.count(CaseNote.id)))
    assert notes == 1


async def test_reviewer_tools_take_the_bots_signing_keys_from_the_roster(harness: Harness) -> None:
    """With no AIGAQ_INTAKE_FINGERPRINT of her own, her tools check each case's manifest
    against the intake key the signed roster names: a roster naming another key refuses it."""
    user = harness.user(user_id=9300, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    reviewers = [harness.reviewer.public()]
    await harness.sign_roster(reviewers, signers={"intake": harness.intake_fingerprint})
    tools = Reviewer(
        harness.services.sessionmaker,
        harness.reviewer,
        roster_pin=harness.roster_pin(harness.reviewer),
    )
    assert await tools.pinned_signer("intake") == harness.intake_fingerprint
    assert (await tools.show(code)).payload["detainees"][0]["name"] == PERSONS[0]["name"]
    await harness.sign_roster(reviewers, signers={"intake": "ab" * 32})
    with pytest.raises(ReviewError, match="manifest"):
        await tools.show(code)


async def test_a_departed_reviewer_is_revoked_once_the_roster_holds_everything(
    harness: Harness,
) -> None:
    """`aigaq keys revoke` drops a departed reviewer's wrapped keys, but only once she is out
    of the roster and the reviewer running it opens every object she holds — each unwrapped
    to check, so garbage rows a database writer adds do not count as copies."""
    user = harness.user(user_id=9400, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    leaving, newcomer = harness.reviewer, ReviewerKey.generate()
    await harness.sign_roster([leaving.public(), newcomer.public()])
    sessionmaker = harness.services.sessionmaker
    newcomers = harness.team_of(newcomer)
    with pytest.raises(StillListed):
        await revoke(
            sessionmaker,
            newcomer,
            leaving.key_id,
            team=newcomers,
            requests=harness.requests_of(newcomer),
        )
    await harness.sign_roster([newcomer.public()])
    newcomers = harness.team_of(newcomer)
    with pytest.raises(NotCovered) as alone:
        await revoke(
            sessionmaker,
            newcomer,
            leaving.key_id,
            team=newcomers,
            requests=harness.requests_of(newcomer),
        )
    held = alone.value.alone
    assert held >= 8  # the case, its answers, files and records, her contact
    # Garbage rows "for" the newcomer do not count: they do not unwrap.
    async with sessionmaker() as session, session.begin():
        theirs = await session.scalar(
            select(Recipient.id).where(Recipient.key_id == newcomer.key_id)
        )
        mine = list(
            await session.scalars(
                select(SealedKey)
                .join(Recipient, Recipient.id == SealedKey.recipient_id)
                .where(Recipient.key_id == leaving.key_id)
            )
        )
        for row in mine:
            session.add(
                SealedKey(
                    kind=row.kind,
                    object_uid=row.object_uid,
                    recipient_id=theirs,
                    wrapped_key=b"garbage",
                )
            )
    with pytest.raises(NotCovered):
        await revoke(
            sessionmaker,
            newcomer,
            leaving.key_id,
            team=newcomers,
            requests=harness.requests_of(newcomer),
        )
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(SealedKey).where(SealedKey.recipient_id == theirs))
    # Out of the roster, she can no longer ask the bot for anything, a rewrap included:
    # her keys are handed over while she is still listed.
    with pytest.raises(ReviewError, match="roster does not list"):
        await rewrap(
            sessionmaker,
            leaving,
            newcomer.public().fingerprint,
            team=harness.team_of(newcomer),
            requests=harness.requests_of(leaving),
        )
    await harness.sign_roster([leaving.public(), newcomer.public()])
    await rewrap(
        sessionmaker,
        leaving,
        newcomer.public().fingerprint,
        team=harness.team_of(newcomer),
        requests=harness.requests_of(leaving),
    )
    await harness.sign_roster([newcomer.public()])
    newcomers = harness.team_of(newcomer)
    gone = await revoke(
        sessionmaker,
        newcomer,
        leaving.key_id,
        team=newcomers,
        requests=harness.requests_of(newcomer),
    )
    assert gone == held
    async with sessionmaker() as session:
        left = await session.scalar(
            select(func.count(SealedKey.id))
            .join(Recipient, Recipient.id == SealedKey.recipient_id)
            .where(Recipient.key_id == leaving.key_id)
        )
        audited = await session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "key.revoked")
        )
    assert left == 0 and json.loads(audited or "{}")["objects"] == gone
    harness.reviewer = newcomer
    assert (await harness.open_case(code))["detainees"][0]["name"] == PERSONS[0]["name"]


async def test_reviewer_tools_refuse_a_deleted_roster_and_a_choice_of_signers(
    harness: Harness,
) -> None:
    """Deleting the rosters does not send her tools back to trusting any manifest signer;
    and with two rosters signed by different keys in the database, nothing is pinned."""
    user = harness.user(user_id=9450, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    sessionmaker = harness.services.sessionmaker
    pinned = harness.reviewer_tool()
    await pinned.show(code)  # pinned and seen a roster
    async with sessionmaker() as session, session.begin():
        kept = list(await session.scalars(select(RosterCopy)))
        await session.execute(delete(RosterCopy))
    with pytest.raises(ReviewError, match="someone deleted it"):
        await harness.reviewer_tool().decisions.set_status(code, CaseStatus.IN_REVIEW, note="x")
    async with sessionmaker() as session, session.begin():
        for row in kept:
            session.add(RosterCopy(version=row.version, document=row.document))
        session.add(
            RosterCopy(
                version=99,
                document=sign_roster(
                    Ed25519PrivateKey.generate(),
                    version=99,
                    reviewers=[Listed(ReviewerKey.generate().public())],
                ),
            )
        )
    fresh = Reviewer(
        sessionmaker,
        harness.reviewer,
        intake_fingerprint=harness.intake_fingerprint,
        roster_pin=RosterPin(harness.settings.roster.parent / "new-laptop.key"),
    )
    with pytest.raises(ReviewError, match="signed by 2 different keys"):
        await fresh.decisions.set_status(code, CaseStatus.IN_REVIEW, note="first look")
