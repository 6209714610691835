"""Operations: doctor, reviewer keys over time, housekeeping, sealed backups."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from bot import db
from bot.backup import BackupError, backup, restore
from bot.crypto import open_sealed
from bot.crypto.backup_signer import BackupSigner
from bot.doctor import run_checks
from bot.models import (
    Attachment,
    Broadcast,
    Case,
    Delivery,
    Draft,
    Recipient,
    Role,
    SealedKey,
    utcnow,
)
from bot.reviewing.cases import Reviewer
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.rewrap import rewrap
from bot.services.audit import verify_chain
from bot.services.recipients import Recipients
from tests.harness import Harness
from tests.scenario import receipt_of
from tests.test_intake_dialogue import PERSONS, walk_intake


async def test_doctor_all_well_then_each_failure_named(harness: Harness) -> None:
    checks = await run_checks(harness.settings, request=harness.api)
    assert [c.name for c in checks if not c.ok] == []
    assert "aigaq_test_bot" in checks[0].detail
    harness.api.fail("getMe", error_code=401, description="Unauthorized")
    harness.settings.secret_key_file.chmod(0o644)
    broken = {c.name: c for c in await run_checks(harness.settings, request=harness.api)}
    assert not broken["token"].ok and "BotFather" in broken["token"].detail
    assert not broken["server key"].ok and "chmod 600" in broken["server key"].detail
    harness.settings.secret_key_file.chmod(0o600)
    webhook = {
        c.name: c
        for c in await run_checks(
            harness.settings, request=harness.api, webhook_url="https://bot.example.org/telegram"
        )
    }
    assert not webhook["webhook"].ok and "AIGAQ_WEBHOOK_SECRET" in webhook["webhook"].detail
    nameless = harness.settings.model_copy(update={"organisation": None})
    named = {c.name: c for c in await run_checks(nameless, request=harness.api)}
    assert not named["organisation"].ok and "AIGAQ_ORGANISATION" in named["organisation"].detail


async def test_doctor_on_an_old_database(tmp_path: Path, harness: Harness) -> None:
    settings = harness.settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    )
    checks = {c.name: c for c in await run_checks(settings, request=harness.api)}
    assert not checks["database"].ok and "aigaq db upgrade" in checks["database"].detail


async def test_a_new_reviewer_reads_old_cases_after_rewrap_and_retired_keys_get_nothing_new(
    harness: Harness,
) -> None:
    user = harness.user(user_id=6000, language_code="en")
    old_code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    newcomer = ReviewerKey.generate()
    recipients = Recipients(harness.services.sessionmaker)
    await harness.sign_roster([harness.reviewer.public(), newcomer.public()])
    sessionmaker = harness.services.sessionmaker
    # Every object the old key holds (the case, its answers, files and their sealed records,
    # her sealed contact), in one rewrap.
    async with sessionmaker() as session:
        held = await session.scalar(
            select(func.count(SealedKey.id))
            .join(Recipient, Recipient.id == SealedKey.recipient_id)
            .where(Recipient.key_id == harness.reviewer.key_id)
        )
    assert held and held >= 8
    team = harness.team_of(harness.reviewer)
    to = newcomer.public().fingerprint
    assert (
        await rewrap(
            sessionmaker,
            harness.reviewer,
            to,
            team=team,
            requests=harness.requests_of(harness.reviewer),
        )
        == held
    )
    assert (
        await rewrap(
            sessionmaker,
            harness.reviewer,
            to,
            team=team,
            requests=harness.requests_of(harness.reviewer),
        )
        == 0
    )
    old_reviewer, harness.reviewer = harness.reviewer, newcomer
    case = await harness.open_case(old_code)
    assert case["detainees"][0]["name"] == "Ерлан Нұрғалиұлы"
    for item in case["evidence"]:
        assert await harness.open_attachment(item["uid"])
    await harness.sign_roster([newcomer.public()])  # the next roster leaves her out
    new_code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    async with harness.services.sessionmaker() as session:
        case_row = (await session.scalars(select(Case).where(Case.code == new_code))).one()
        holders = set(
            await session.scalars(
                select(Recipient.key_id)
                .join(SealedKey, SealedKey.recipient_id == Recipient.id)
                .where(SealedKey.kind == "case", SealedKey.object_uid == case_row.uid)
            )
        )
    assert holders == {newcomer.key_id}
    listing = {item.key_id: item for item in await recipients.listing()}
    assert listing[old_reviewer.key_id].active is False
    assert listing[old_reviewer.key_id].cases == 1 and listing[newcomer.key_id].cases == 2


async def test_housekeeping_reminds_purges_and_counts(harness: Harness) -> None:
    user = harness.user(user_id=6100, language_code="ru")
    await user.send_command("start")
    await user.press("lang:ru")
    await user.press("i:safety:_continue")
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Draft).values(expires_at=utcnow() + timedelta(hours=3)))
    reminders = await harness.services.retention.due_reminders()
    assert [(r.user_id, r.locale) for r in reminders] == [(6100, "ru")]
    assert await harness.services.retention.due_reminders() == []
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(update(Draft).values(expires_at=utcnow() - timedelta(hours=1)))
        session.add(
            Attachment(
                uid="orphan",
                kind="photo",
                header=b"h",
                created_at=utcnow() - timedelta(days=30),
            )
        )
        broadcast = Broadcast(status="done", texts="{}", finished_at=utcnow() - timedelta(days=31))
        session.add(broadcast)
    purged = await harness.services.retention.purge()
    assert purged.drafts >= 1 and purged.draft_files == 1 and purged.broadcasts_compacted == 1
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count(Draft.id))) == 0
        assert (await verify_chain(session)).first_broken is None
        assert await session.scalar(select(func.count(Delivery.id))) == 0


async def test_backup_wipe_restore_every_case_opens_and_the_chain_verifies(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=6200, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS)
    await harness.services.roles.grant("cli", 6201, Role.ADMIN)
    url = harness.settings.database_url
    public = [harness.reviewer.public()]
    out = tmp_path / "aigaq.backup"
    signer = BackupSigner(harness.settings.backup_key())
    await harness.stop()
    size = backup(url, out, public, signer)
    raw = out.read_bytes()
    assert size > 0 and "Ерлан".encode() not in raw and b"audit" not in raw
    with pytest.raises(BackupError):
        backup(url, out, public, signer)  # never overwrites
    await wipe(url)
    with pytest.raises(BackupError, match="not one of the backup's recipients"):
        await restore(url, out, ReviewerKey.generate(), signer=signer.fingerprint)
    restored = await restore(url, out, harness.reviewer, signer=signer.fingerprint)
    assert restored in ("sqlite", "postgresql")
    engine = db.create_engine(url)
    sessions = db.make_sessionmaker(engine)
    fingerprint = harness.intake_fingerprint
    try:
        async with sessions() as session:
            assert (await verify_chain(session)).first_broken is None
            cases = list(await session.scalars(select(Case)))
            assert [case.code for case in cases] == [code]
            for case in cases:
                wrapped = await session.scalar(
                    select(SealedKey.wrapped_key).where(SealedKey.object_uid == case.uid)
                )
                assert case.payload is not None and wrapped is not None
                plain = open_sealed(
                    case.payload, wrapped, harness.reviewer, object_id=case.uid, kind="case"
                )
                # A signed manifest: its sealed answers came back with it, and match it.
                tools = Reviewer(sessions, harness.reviewer, intake_fingerprint=fingerprint)
                payload = await tools.record(session, case.id, case.code, case.uid, plain)
                assert payload["detainees"][1]["name"] == "Erlan's father Nurgali"
    finally:
        await engine.dispose()


async def wipe(url: str) -> None:
    engine = db.create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        else:
            await engine.dispose()
            database = Path(url.split("///", 1)[1])
            for path in database.parent.glob(database.name + "*"):
                path.unlink()
    finally:
        await engine.dispose()


async def test_server_key_rotation_keeps_drafts_accounts_and_subscriptions(
    harness: Harness,
) -> None:
    from bot.crypto import ServerKey
    from bot.services.rotation import rotate

    drafting = harness.user(user_id=6300, language_code="en")
    await drafting.send_command("start")
    await drafting.press("lang:en")
    await drafting.press("i:safety:_continue")
    await drafting.press("i:relation:wife")
    subscriber = harness.user(user_id=6301, language_code="ru")
    await subscriber.send_command("subscribe")
    quiet = harness.user(user_id=6302, language_code="kk")
    code = await walk_intake(quiet, locale="kk", persons=PERSONS[:1])
    old = harness.services.server_key
    await harness.stop()
    new = old.rotated()
    engine = db.create_engine(harness.settings.database_url)
    try:
        done = await rotate(db.make_sessionmaker(engine), old, new)
    finally:
        await engine.dispose()
    # The subscriber's account keeps her chat id, so it moves at once; the relative's chat id
    # is sealed beside her case, not on her account: she is found by her old pseudonym.
    assert done.drafts >= 2 and done.accounts == 1
    new.save(harness.settings.secret_key_file)
    reloaded = ServerKey.load(harness.settings.secret_key_file)
    assert len(reloaded.masters) == 2 and reloaded.masters[0] == new.masters[0]
    await harness.start()
    for user in harness.users:
        user.application = harness.app
    # Her draft is where she left it, under the new key.
    await drafting.press("i:own_name:_skip")
    draft = harness.app.user_data[6300]["draft"]  # type: ignore[union-attr]
    assert draft["step"] == "residence"
    assert await harness.open_piece(draft["detainees"][0]["relation"]) == "wife"  # sealed, intact
    assert (await harness.services.broadcasts.audience()).total() == 1
    await quiet.send_command("status", receipt_of(quiet))
    assert code in quiet.last_text  # her receipt code does not depend on the server key
    async with harness.services.sessionmaker() as session:
        assert (await verify_chain(session)).first_broken is None
