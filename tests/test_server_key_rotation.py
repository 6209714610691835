"""A rotated server key goes from the key file once nothing needs it, and opens nothing left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot import db
from bot.cli import app
from bot.crypto import CryptoError, ServerKey
from bot.models import Account, Broadcast, Delivery, DeliveryState, Draft, Role
from bot.services.audit import verify_chain
from bot.services.rotation import OldKeyNeeded, drop_old, rotate
from bot.states import BroadcastStatus
from tests.conftest import TestDatabase
from tests.harness import Harness
from tests.scenario import PERSONS, receipt_of, walk_intake

NOT_SEEN = "relatives' accounts not seen since the rotation"


def opens(key: ServerKey, token: bytes | None, context: str) -> bool:
    try:
        key.decrypt(token or b"", context=context)
    except CryptoError:
        return False
    return True


async def test_the_old_key_goes_once_nothing_needs_it_and_opens_nothing_left(
    harness: Harness,
) -> None:
    drafting = harness.user(user_id=6300, language_code="en")
    await drafting.send_command("start")
    await drafting.press("lang:en")
    await drafting.press("i:safety:_continue")
    await drafting.press("i:relation:wife")
    subscriber = harness.user(user_id=6301, language_code="ru")
    await subscriber.send_command("subscribe")
    quiet = harness.user(user_id=6302, language_code="kk")
    code = await walk_intake(quiet, locale="kk", persons=PERSONS[:1])
    absent = harness.user(user_id=6303, language_code="ru")
    await absent.send_command("start")
    await harness.services.roles.grant("cli", 6304, Role.REVIEWER)
    old = harness.services.server_key
    await harness.stop()
    path = harness.settings.secret_key_file
    engine = db.create_engine(harness.settings.database_url)
    sessionmaker = db.make_sessionmaker(engine)
    try:
        # A message waiting in the outbox and a broadcast's progress chat, under the old key.
        async with sessionmaker() as session, session.begin():
            reminder = {"chat": 6302, "code": code}
            session.add(
                Delivery(
                    kind="reminder",
                    sealed=old.encrypt(json.dumps(reminder).encode(), context="delivery"),
                    locale="kk",
                    state=DeliveryState.FAILED,
                    attempts=1,
                )
            )
            session.add(
                Broadcast(
                    status=BroadcastStatus.DONE,
                    progress_chat_ref=old.encrypt(b"6304", context="chat"),
                )
            )
        new = old.rotated()
        done = await rotate(sessionmaker, old, new, lambda key: key.save(path))
        # The subscriber and the reviewer keep a chat id, so they move at once; the others
        # move when they next write.
        assert (done.accounts, done.unmoved) == (2, 3) and done.messages >= 1
        assert ServerKey.load(path).masters == new.masters and len(new.masters) == 2

        with pytest.raises(OldKeyNeeded) as refused:
            await drop_old(sessionmaker, ServerKey.load(path), lambda key: key.save(path))
        assert refused.value.needs == {NOT_SEEN: 3}
        assert len(ServerKey.load(path).masters) == 2  # nothing was dropped

        # Two of them come back; the third never does.
        await harness.restart(clean=True)
        await drafting.send_command("start")
        await quiet.send_command("start")
        await harness.stop()
        with pytest.raises(OldKeyNeeded) as refused:
            await drop_old(sessionmaker, ServerKey.load(path), lambda key: key.save(path))
        assert refused.value.needs == {NOT_SEEN: 1}
        dropped = await drop_old(
            sessionmaker, ServerKey.load(path), lambda key: key.save(path), forget_unmoved=True
        )
        assert dropped == 1
        current = ServerKey.load(path)
        assert current.masters == [new.masters[0]]

        # The old master alone opens, and finds, nothing that remains; the current one opens all.
        lone_old = ServerKey(old.masters[0])
        async with sessionmaker() as session:
            drafts = list(await session.scalars(select(Draft)))
            assert drafts
            for draft in drafts:
                context = f"draft:{draft.kind}:{draft.name}"
                assert not opens(lone_old, draft.data, context)
                key = json.dumps(json.loads(current.decrypt(draft.data, context=context))["key"])
                assert draft.ref == current.pseudonym(context, key)
            accounts = list(await session.scalars(select(Account)))
            pseudonyms = {account.pseudonym for account in accounts}
            assert len(accounts) == 4  # the absent relative's account was forgotten
            for user_id in range(6300, 6305):
                assert lone_old.pseudonym("account", user_id) not in pseudonyms
            assert current.pseudonym("account", 6303) not in pseudonyms
            refs = [a.chat_ref for a in accounts if a.chat_ref is not None]
            refs += [
                ref
                for ref in await session.scalars(select(Broadcast.progress_chat_ref))
                if ref is not None
            ]
            assert len(refs) >= 3
            assert all(
                opens(current, ref, "chat") and not opens(lone_old, ref, "chat") for ref in refs
            )
            sealed = list(
                await session.scalars(
                    select(Delivery.sealed).where(
                        Delivery.uid.is_(None), Delivery.sealed.is_not(None)
                    )
                )
            )
            assert sealed
            for token in sealed:
                assert opens(current, token, "delivery") and not opens(lone_old, token, "delivery")
            assert (await verify_chain(session)).first_broken is None
    finally:
        await engine.dispose()

    # Everyone still finds what is hers under the one key left.
    await harness.restart(clean=True)
    await drafting.press("i:own_name:_skip")
    draft = harness.app.user_data[6300]["draft"]  # type: ignore[union-attr]
    assert draft["step"] == "residence"
    assert await harness.open_piece(draft["detainees"][0]["relation"]) == "wife"
    assert (await harness.services.broadcasts.audience()).total() == 1
    team = await harness.services.roles.team()
    assert [member.telegram_id for member in team] == [6304]
    await quiet.send_command("status", receipt_of(quiet))
    assert code in quiet.last_text


# -- the command line ----------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def key_file(database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = tmp_path / "server.key"
    ServerKey.generate_file(key)
    monkeypatch.setenv("AIGAQ_DATABASE_URL", database.url)
    monkeypatch.setenv("AIGAQ_SECRET_KEY_FILE", str(key))
    monkeypatch.chdir(tmp_path)
    return key


def test_rotate_then_drop_the_old_key_from_the_command_line(key_file: Path) -> None:
    first = ServerKey.load(key_file).masters[0]
    result = runner.invoke(app, ["keys", "server", "--rotate"])
    assert result.exit_code == 0 and "--drop-old" in result.output
    assert ServerKey.load(key_file).masters[1] == first
    result = runner.invoke(app, ["keys", "server", "--drop-old"])
    assert result.exit_code == 0, result.output
    assert "1 old server keys removed" in result.output
    masters = ServerKey.load(key_file).masters
    assert len(masters) == 1 and first not in masters
    result = runner.invoke(app, ["keys", "server", "--drop-old"])
    assert result.exit_code == 0 and "nothing to drop" in result.output


def test_a_rotation_that_kept_no_note_is_not_dropped(key_file: Path) -> None:
    """A key file rotated by an older version: which accounts it could not move is unknown."""
    ServerKey.load(key_file).rotated().save(key_file)
    result = runner.invoke(app, ["keys", "server", "--drop-old"])
    assert result.exit_code == 2 and "rotate again" in result.output
    assert "nothing was dropped" in result.output
    assert len(ServerKey.load(key_file).masters) == 2
