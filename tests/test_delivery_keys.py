"""The bot's delivery keys: certified by the signing key reviewers pin, rotated weekly, an old
private half destroyed only once nothing pending is sealed to it; what the bot kept the old way
(a chat id on the account, messages under the server key) sealed at start."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.crypto import open_sealed
from bot.crypto.delivery import CertificateError, DeliveryKeyring, verify_certificate
from bot.crypto.keys import b64d, b64e
from bot.earlier_links import EarlierLink
from bot.models import (
    Account,
    AuditEntry,
    Case,
    CaseStatus,
    Delivery,
    FollowUp,
    Notice,
    SealedKey,
    Setting,
    utcnow,
)
from bot.reviewing.cases import Reviewer, ReviewError
from bot.services.contacts import seal_earlier_contacts
from bot.services.delivery_keys import CERTIFICATE, GRACE
from bot.services.followups import token_hash
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import Consent, answer_token
from tests.test_intake_dialogue import PERSONS, walk_intake

WEEK = timedelta(days=7)


# -- the certificate ------------------------------------------------------------------------


def test_a_certificate_verifies_only_with_the_pinned_signer_inside_its_window(
    tmp_path: Path,
) -> None:
    keyring = DeliveryKeyring(tmp_path / "delivery")
    now = utcnow()
    held = keyring.make(now)
    line = keyring.certificate(held, WEEK + GRACE)
    found = verify_certificate(line, keyring.fingerprint.upper(), now + WEEK)
    assert found.key.public_bytes == held.key.public().public_bytes
    other = DeliveryKeyring(tmp_path / "other")
    with pytest.raises(CertificateError, match="not by the one you pinned"):
        verify_certificate(line, other.fingerprint, now)
    with pytest.raises(CertificateError, match="expired"):
        verify_certificate(line, keyring.fingerprint, now + WEEK + GRACE + timedelta(seconds=1))
    with pytest.raises(CertificateError, match="valid only from"):
        verify_certificate(line, keyring.fingerprint, now - timedelta(hours=1))
    # An unsigned key, as the database used to publish it.
    with pytest.raises(CertificateError, match="not an aigaq-delivery-cert-v1"):
        verify_certificate(held.key.public().to_line(), keyring.fingerprint, now)
    # Another key put into a certificate the pinned key signed: the signature breaks.
    tag, body, signature = line.split()
    fields = json.loads(b64d(body))
    fields["key"] = other.make(now).key.public().to_line()
    forged = f"{tag} {b64e(json.dumps(fields).encode())} {signature}"
    with pytest.raises(CertificateError, match="does not verify"):
        verify_certificate(forged, keyring.fingerprint, now)


def test_key_files_are_private_and_survive_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    keyring = DeliveryKeyring(folder)
    held = keyring.make(utcnow())
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}
    again = DeliveryKeyring(folder)
    assert again.fingerprint == keyring.fingerprint
    assert again.get(held.key.key_id) is not None
    (folder / f"{held.key.key_id}.key").chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        DeliveryKeyring(folder)


# -- reviewer tools and the published certificate ------------------------------------------


async def test_reviewer_tools_refuse_an_uncertified_or_expired_delivery_key(
    harness: Harness,
) -> None:
    user = harness.user(user_id=6100, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    reviewer = harness.reviewer_tool()
    # Expired: the bot has not renewed it (its clock, or it is not running).
    later = utcnow() + WEEK + GRACE + timedelta(minutes=1)
    with pytest.raises(ReviewError, match="expired"):
        await reviewer.contact.delivery_key(now=later)
    # Unsigned: a bare public key in the row, as an attacker with the database would write.
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE settings SET value = :line WHERE name = :name"),
            {"line": harness.reviewer.public().to_line(), "name": CERTIFICATE},
        )
    with pytest.raises(ReviewError, match="not an aigaq-delivery-cert-v1 certificate"):
        await reviewer.followups.ask(code, "Anything else?")
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count(FollowUp.id))) == 0
        assert await session.scalar(select(func.count(Delivery.id))) == 0
        refused = await session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "delivery_key.refused")
        )
    assert refused == 2
    # The bot's next start (or daily job) publishes its certificate again.
    await harness.services.delivery_keys.rotate()
    await reviewer.followups.ask(code, "Anything else?")


# -- rotation --------------------------------------------------------------------------------


async def test_the_delivery_key_rotates_weekly_and_an_old_one_goes_when_nothing_waits(
    harness: Harness,
) -> None:
    keys = harness.services.delivery_keys
    folder = harness.settings.delivery_folder()
    first = keys.current()
    assert first is not None
    start = first.created
    user = harness.user(user_id=6200, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    # Not due yet: nothing changes.
    assert (await keys.rotate(now=start + timedelta(days=6))).made is None
    harness.api.fail("sendMessage", chat_id=user.user_id, error_code=502)
    await harness.reviewer_tool().followups.ask(code, "Қашан ұсталды?")
    assert await deliver_questions(harness.app) == 0  # type: ignore[arg-type]  # waits
    # A week and more later: a new key, the old one kept (a question waits, sealed to it).
    later = start + WEEK + GRACE + timedelta(days=1)
    rotated = await keys.rotate(now=later)
    assert rotated.made is not None and rotated.destroyed == []
    assert keys.current().key.key_id == rotated.made
    assert (folder / f"{first.key.key_id}.key").exists()
    async with harness.services.sessionmaker() as session:
        published = await session.get_one(Setting, CERTIFICATE)
    certified = verify_certificate(published.value, keys.fingerprint, later)
    assert certified.key.key_id == rotated.made
    # The waiting question still goes out with the old key; then the old key is destroyed.
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE deliveries SET next_attempt_at = NULL"))
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "Қашан ұсталды?" in user.last_text
    again = await keys.rotate(now=later)
    assert again.made is None and again.destroyed == [first.key.key_id]
    assert not (folder / f"{first.key.key_id}.key").exists()
    assert (folder / f"{rotated.made}.key").exists() and (folder / "signing.key").exists()


async def test_a_message_whose_key_was_destroyed_fails_visibly(harness: Harness) -> None:
    user = harness.user(user_id=6300, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    await harness.reviewer_tool().followups.ask(code, "Қашан ұсталды?")
    current = harness.services.delivery_keys.current()
    harness.services.delivery_keys.keyring.destroy(current.key.key_id)
    assert await deliver_questions(harness.app) == 0  # type: ignore[arg-type]
    answers = await harness.reviewer_tool().followups.of(code)
    assert answers[0]["state"] == "failed"  # never silently dropped
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count(Delivery.id))) == 0
        assert await session.scalar(select(func.count()).where(SealedKey.kind == "delivery")) == 0


# -- what was kept the old way -----------------------------------------------------------------


async def test_earlier_contacts_and_waiting_messages_are_sealed_at_start(
    harness: Harness,
) -> None:
    services = harness.services
    user = harness.user(user_id=6400, language_code="ru")
    code = await walk_intake(user, locale="ru", persons=PERSONS[:1])
    # As revision 0012 left it: her chat id on her account, no sealed contact, a question
    # waiting in the outbox under the server key, to her account.
    async with services.sessionmaker() as session, session.begin():
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        case.contact = None
        await session.execute(SealedKey.__table__.delete().where(SealedKey.kind == "contact"))
        pseudonym = services.accounts.pseudonym(user.user_id)
        account = (
            await session.scalars(select(Account).where(Account.pseudonym == pseudonym))
        ).one()
        session.add(EarlierLink(case_id=case.id, account_id=account.id))  # as 0014 left it
        account.chat_ref = services.server_key.encrypt(str(user.chat_id).encode(), context="chat")
        followup = FollowUp(
            case_id=case.id, uid="f" * 32, asked_by="x", sealed_question=b"q", state="queued"
        )
        session.add(followup)
        await session.flush()
        old = services.outbox._messages.seal({"code": code, "text": "Где его задержали?"})
        session.add(
            Delivery(
                kind="question",
                subject_id=followup.id,
                account_id=account.id,
                sealed=old,
                locale="ru",
                state="pending",
                attempts=0,
            )
        )
    moved = await seal_earlier_contacts(
        services.sessionmaker, services.server_key, services.delivery_keys
    )
    assert (moved.contacts, moved.deliveries, moved.failed) == (1, 1, 0)
    again = await seal_earlier_contacts(
        services.sessionmaker, services.server_key, services.delivery_keys
    )
    assert (again.contacts, again.deliveries, again.failed) == (0, 0, 0)  # one time only
    async with services.sessionmaker() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        delivery = (await session.scalars(select(Delivery))).one()
    assert delivery.account_id is None and delivery.uid is not None
    assert case.contact is not None
    contact = open_sealed(
        case.contact,
        await harness.wrapped_key("contact", case.uid),
        harness.reviewer,
        object_id=case.uid,
        kind="contact",
    )
    assert json.loads(contact) == {"chat": user.chat_id, "locale": "ru"}
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "Где его задержали?" in user.last_text
    token = answer_token(user)
    async with services.sessionmaker() as session:
        stored = (await session.scalars(select(FollowUp.token_hash))).one()
    assert stored == token_hash(token)
    # Reviewers now reach her through the sealed contact.
    await harness.reviewer_tool().followups.ask(code, "И ещё один вопрос?")
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    assert "И ещё один вопрос?" in user.last_text


async def test_a_decision_she_would_hear_of_needs_the_pin_and_one_she_would_not_does_not(
    harness: Harness,
) -> None:
    told = await walk_intake(
        harness.user(user_id=6500, language_code="kk"), locale="kk", persons=PERSONS[:1]
    )
    silent = await walk_intake(
        harness.user(user_id=6501, language_code="kk"),
        locale="kk",
        persons=PERSONS[:1],
        consent=Consent(contact="no"),
    )
    unpinned = Reviewer(harness.services.sessionmaker, harness.reviewer)
    with pytest.raises(ReviewError, match="AIGAQ_INBOX_FINGERPRINT"):
        await unpinned.decisions.set_status(told, CaseStatus.VERIFIED)
    assert (await unpinned.opened(told)).status == CaseStatus.RECEIVED  # nothing changed
    await unpinned.decisions.set_status(silent, CaseStatus.VERIFIED)  # no notice to seal
    await harness.reviewer_tool().decisions.set_status(told, CaseStatus.VERIFIED)
    async with harness.services.sessionmaker() as session:
        notices = list(await session.scalars(select(Notice)))
        deliveries = list(await session.scalars(select(Delivery)))
    assert len(notices) == 1 and len(deliveries) == 1
    assert deliveries[0].account_id is None and deliveries[0].uid is not None
