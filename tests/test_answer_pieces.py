"""Answers sealed as they arrive: replacing one, restarts at every step, the signed manifest.

Every typed or chosen answer is a sealed piece (`draft_pieces`); the draft keeps references
and the control values; at Submit the case is a manifest of the pieces signed with the
bot's intake key, which reviewer tools check against the key they pinned.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.crypto import seal
from bot.crypto.intake import IntakeSigner
from bot.draft_pieces import DraftPiece
from bot.models import Case, Recipient, SealedKey, utcnow
from bot.persistence import DatabasePersistence
from bot.reviewing.memory import CaseChanged, Vouch
from bot.reviewing.opening import ReviewError
from bot.services.outbox import ALERT
from bot.services.pieces import sweep
from handlers.outbox import send_now
from tests.harness import Harness
from tests.scenario import LONG_STORY, PERSONS, VOICE, walk_intake


def draft_of(harness: Harness, user_id: int) -> dict[str, Any]:
    assert harness.app is not None
    return harness.app.user_data[user_id]["draft"]


def screen(user: Any) -> str:
    """Everything the bot said since her last message (a long summary comes in parts)."""
    said: list[str] = []
    for message in reversed(user.all_messages):
        if not message.from_bot:
            break
        said.insert(0, message.text or "")
    return "\n".join(said)


async def pieces(harness: Harness) -> set[str]:
    async with harness.services.sessionmaker() as session:
        return set(await session.scalars(select(DraftPiece.uid)))


async def to_own_name(user: Any) -> None:
    await user.send_command("start")
    await user.press("lang:en")
    await user.press("i:safety:_continue")
    await user.press("i:relation:mother")


async def test_an_answer_is_sealed_at_once_and_the_old_piece_goes_after_the_commit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = harness.user(user_id=4100, language_code="en")
    await to_own_name(user)
    await user.send_text("Gulnar First")
    first = draft_of(harness, 4100)["about"]["own_name"]
    assert await harness.open_piece(first) == "Gulnar First"
    # Corrected with /back: the new piece is sealed, the draft naming it written, and only
    # then the old piece (and its wrapped keys) deleted.
    await user.send_command("back")
    await user.send_text("Gulnar Second")
    second = draft_of(harness, 4100)["about"]["own_name"]
    assert await harness.open_piece(second) == "Gulnar Second"
    held = await pieces(harness)
    assert second["piece"] in held and first["piece"] not in held
    assert await harness.wrapped_key("answer", first["piece"]) is None

    # The draft's write fails (the disk is full, the process dies before it): the piece it
    # would have replaced stays, and after an unclean restart the draft names it still.
    async def broken(self: DatabasePersistence) -> None:
        raise RuntimeError("the draft could not be written")

    await user.send_command("back")
    monkeypatch.setattr(DatabasePersistence, "commit", broken)
    with pytest.raises(RuntimeError):
        await user.send_text("Gulnar Third")
    monkeypatch.undo()
    assert second["piece"] in await pieces(harness)
    await harness.restart(clean=False)
    kept = draft_of(harness, 4100)["about"]["own_name"]
    assert kept == second and await harness.open_piece(kept) == "Gulnar Second"
    # The piece sealed for the lost write is named by nothing: the daily purge sweeps it.
    named = {ref["piece"] for ref in [draft_of(harness, 4100)["detainees"][0]["relation"], kept]}
    async with harness.services.sessionmaker() as session, session.begin():
        assert await sweep(session, named, utcnow() + timedelta(days=2)) == 1
    assert await pieces(harness) == named


async def test_after_a_restart_the_summary_says_given_sealed_and_she_can_still_edit(
    harness: Harness,
) -> None:
    user = harness.user(user_id=4200, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS[:1], submit=False)
    assert "Гүлбаһрам" in screen(user)  # the plaintext is in this process's memory
    await harness.restart(clean=False)
    await user.send_command("start")
    summary = screen(user)
    assert "given (sealed)" in summary and "Гүлбаһрам" not in summary
    assert "Ерлан Нұрғалиұлы" not in summary
    # She changes her own part: her new answers show, the others stay sealed.
    await user.press("i:summary:edit:about")  # her name and residence (relation: per person)
    await user.send_text("Gulbahram Edited")
    await user.press("i:residence:_skip")  # while editing, Skip keeps her answer (sealed)
    assert "Gulbahram Edited" in screen(user) and "given (sealed)" in screen(user)
    await user.press("i:summary:submit")
    code = next(m.text for m in user.messages if m.text and "Case code" in m.text)
    code = code.split("Case code: ", 1)[1].split("\n", 1)[0]
    payload = await harness.open_case(code)
    assert payload["testifier"] == {
        "own_name": "Gulbahram Edited",
        "residence": "Алматы, Қазақстан",
    }
    person = payload["detainees"][0]
    assert person["relation"] == "son"
    assert person["name"] == "Ерлан Нұрғалиұлы" and person["id_number"] == "654023198501010019"
    assert person["detained"]["year"] == 2018 and person["another"] == "no"
    assert payload["narrative"][0] == {"text": LONG_STORY}
    # Nothing is left over: the pieces are the case's, the replaced ones gone.
    async with harness.services.sessionmaker() as session:
        owners = list(await session.scalars(select(DraftPiece.case_id)))
    assert owners and all(owner is not None for owner in owners)
    assert len(owners) == 3 + 22 + 2  # her three, his twenty-two, two pieces of the story


async def test_an_unclean_restart_after_every_answer_loses_nothing(harness: Harness) -> None:
    user = harness.user(user_id=4300, language_code="en")

    def restarting(send: Any) -> Any:
        async def then_crash(*args: Any, **kwargs: Any) -> Any:
            result = await send(*args, **kwargs)
            await harness.restart(clean=False)  # like kill -9 after the update
            return result

        return then_crash

    for name in ("send_text", "send_command", "press", "send_voice", "send_photo"):
        setattr(user, name, restarting(getattr(user, name)))
    user.send_document = restarting(user.send_document)
    code = await walk_intake(user, locale="en", persons=PERSONS, by_voice=True)
    payload = await harness.open_case(code)
    assert payload["testifier"] == {"own_name": "Гүлбаһрам", "residence": "Алматы, Қазақстан"}
    first, second = payload["detainees"]
    assert (first["relation"], second["relation"]) == ("son", "husband")
    assert set(first["name"]) == {"voice"} and set(second["name"]) == {"voice"}
    assert first["name_alt"] == "叶尔兰·努尔哈力" and first["gender"] == "male"
    assert first["birth_year"]["precision"] == "approximate"
    assert first["hometown"] == "ili" and first["hometown_detail"] == "Құлжа ауданы"
    assert first["detained"]["month"] == 5 and first["status"] == "camp"
    assert first["steps_taken"] == "Консулдыққа хат жаздым, жауап келмеді."
    assert second["perpetrators"] == "_unknown" and second["birth_year"]["text"] == "1960s"
    assert second["held_at"] is None and second["another"] == "no"
    story = payload["narrative"]
    assert story[0] == {"text": LONG_STORY} and set(story[1]) == {"voice"}
    assert story[2] == {"text": "Мен консулдыққа хат жаздым."}
    assert len(payload["evidence"]) == 3
    spoken = {first["name"]["voice"], second["name"]["voice"], story[1]["voice"]}
    named = spoken | {item["uid"] for item in payload["evidence"]}
    assert {file["uid"] for file in payload["attachments"]} == named
    assert payload["consent"]["un_submission"] is True
    assert await harness.open_attachment(story[1]["voice"]) == VOICE


async def test_the_urgent_alert_fires_though_the_date_was_sealed_before_a_restart(
    harness: Harness,
) -> None:
    from bot.models import Role

    await harness.services.roles.grant("cli", 4401, Role.REVIEWER)
    await harness.services.accounts.set_locale(4401, "en")
    staff = harness.user(user_id=4401, language_code="en")
    user = harness.user(user_id=4400, language_code="en")
    recent = date.today() - timedelta(days=20)
    person = dict(PERSONS[0], detained=recent.strftime("%d.%m.%Y"))
    await walk_intake(user, locale="en", persons=[person], submit=False)
    detained = draft_of(harness, 4400)["detainees"][0]
    assert detained["urgent"] is True and "piece" in detained["detained"]
    await harness.restart(clean=False)  # the date's plaintext is gone from memory
    await user.press("i:summary:submit")
    assert await send_now(harness.app, ALERT) == 1  # type: ignore[arg-type]
    assert "Urgent" in staff.last_text


async def test_a_draft_kept_the_old_way_is_sealed_at_submit(harness: Harness) -> None:
    """A draft begun before revision 0015 holds its answers as they are: Submit seals them
    (or her next answer: see below)."""
    user = harness.user(user_id=4500, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS[:1], submit=False)
    draft = draft_of(harness, 4500)
    draft.pop("id")
    draft["about"] = {"relation": "sister", "own_name": "Old Shape", "residence": None}
    draft["detainees"][0]["name"] = "Old Shape Brother"
    assert harness.app is not None and harness.app.persistence is not None
    await harness.app.persistence.update_user_data(4500, harness.app.user_data[4500])
    await harness.app.update_persistence()
    await harness.restart(clean=False)
    await user.press("i:summary:submit")
    code = next(m.text for m in user.messages if m.text and "Case code" in m.text)
    payload = await harness.open_case(code.split("Case code: ", 1)[1].split("\n", 1)[0])
    assert payload["testifier"]["own_name"] == "Old Shape"
    assert payload["detainees"][0]["name"] == "Old Shape Brother"
    assert payload["detainees"][0]["gender"] == "male"


async def submitted_case(harness: Harness, user_id: int) -> Case:
    user = harness.user(user_id=user_id, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    async with harness.services.sessionmaker() as session:
        return (await session.scalars(select(Case).where(Case.code == code))).one()


async def reseal(harness: Harness, case: Case, content: bytes) -> None:
    """Put another sealed case object in the row, sealed to the test reviewer (what someone
    who writes to the database, and knows the reviewers' public keys, can do)."""
    sealed = seal(content, [harness.reviewer.public()], object_id=case.uid, kind="case")
    async with harness.services.sessionmaker() as session, session.begin():
        mine = await session.scalar(
            select(Recipient.id).where(Recipient.key_id == harness.reviewer.key_id)
        )
        await session.execute(
            update(Case).where(Case.id == case.id).values(payload=sealed.ciphertext)
        )
        await session.execute(
            update(SealedKey)
            .where(
                SealedKey.kind == "case",
                SealedKey.object_uid == case.uid,
                SealedKey.recipient_id == mine,
            )
            .values(wrapped_key=sealed.wrapped_keys[harness.reviewer.key_id])
        )


async def signed_manifest(harness: Harness, case: Case) -> dict[str, Any]:
    from bot.crypto import open_sealed

    wrapped = await harness.wrapped_key("case", case.uid)
    assert case.payload is not None and wrapped is not None
    return json.loads(
        open_sealed(case.payload, wrapped, harness.reviewer, object_id=case.uid, kind="case")
    )


async def test_reviewer_tools_refuse_a_changed_piece(harness: Harness) -> None:
    case = await submitted_case(harness, 4600)
    assert (await harness.reviewer_tool().show(case.code)).payload["detainees"]
    async with harness.services.sessionmaker() as session, session.begin():
        piece = (
            await session.scalars(select(DraftPiece).where(DraftPiece.case_id == case.id))
        ).first()
        assert piece is not None
        piece.sealed = piece.sealed[:-1] + bytes([piece.sealed[-1] ^ 1])
    with pytest.raises(ReviewError, match="was changed in the database"):
        await harness.reviewer_tool().show(case.code)


async def test_reviewer_tools_refuse_a_missing_piece(harness: Harness) -> None:
    case = await submitted_case(harness, 4650)
    async with harness.services.sessionmaker() as session, session.begin():
        first = await session.scalar(
            select(func.min(DraftPiece.id)).where(DraftPiece.case_id == case.id)
        )
        await session.execute(DraftPiece.__table__.delete().where(DraftPiece.id == first))
    with pytest.raises(ReviewError, match="is missing from the database"):
        await harness.reviewer_tool().show(case.code)


async def test_reviewer_tools_refuse_a_manifest_changed_or_signed_by_another_key(
    harness: Harness, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await submitted_case(harness, 4700)
    signed = await signed_manifest(harness, case)
    # A piece's hash changed in the manifest, the signature left as it was.
    altered = json.loads(json.dumps(signed))
    altered["manifest"]["pieces"][0]["sha256"] = "0" * 64
    await reseal(harness, case, json.dumps(altered).encode())
    # First the audit log's anchor of the submitted manifest (bot/reviewing/memory.py) ...
    with pytest.raises(CaseChanged, match="not the case that was submitted"):
        await harness.reviewer_tool().show(case.code)

    # ... and, for a writer who rewrote the log and every reviewer's memory too, the intake
    # key's signature on the manifest, checked on its own here.
    async def trusting(_vouch: Vouch, _session: Any, _case: Any) -> None:
        return None

    monkeypatch.setattr(Vouch, "case", trusting)
    with pytest.raises(ReviewError, match="does not verify against its signature"):
        await harness.reviewer_tool().show(case.code)
    # A whole manifest made and signed by someone else's key.
    forger = IntakeSigner(tmp_path / "forged" / "intake.key")
    await reseal(harness, case, forger.sign(signed["manifest"]))
    with pytest.raises(ReviewError, match="not by the bot's intake key you pinned"):
        await harness.reviewer_tool().show(case.code)
    # The genuine manifest put back: it opens again.
    await reseal(harness, case, json.dumps(signed).encode())
    assert (await harness.reviewer_tool().show(case.code)).code == case.code


async def test_withdrawal_deletes_her_sealed_answers_with_the_case(harness: Harness) -> None:
    from tests.scenario import withdraw

    user = harness.user(user_id=4800, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    assert await pieces(harness)
    await withdraw(user, code)
    assert f"Case {code} was withdrawn." in user.last_text
    assert await pieces(harness) == set()
    async with harness.services.sessionmaker() as session:
        kinds = set(await session.scalars(select(SealedKey.kind)))
    assert "answer" not in kinds


def test_the_plaintext_is_held_for_a_while_and_for_so_many_drafts_only() -> None:
    from bot.services.pieces import Recall

    recall = Recall(ttl=timedelta(hours=1), limit=2)
    recall.put("a", "p1", "Ерлан")
    recall.put("b", "p2", "Серік")
    assert recall.get("a") == {"p1": "Ерлан"}
    recall.put("c", "p3", "Қайрат")  # a third draft: the one least recently used goes
    assert recall.get("b") == {} and recall.get("c") == {"p3": "Қайрат"}
    recall.forget("c")
    assert recall.get("c") == {}
    expired = Recall(ttl=timedelta(seconds=-1))
    expired.put("a", "p1", "Ерлан")
    assert expired.get("a") == {}


async def test_the_ordinary_write_path_seals_the_same_pieces(harness: Harness) -> None:
    """PostgreSQL (and any other database) writes a piece through the ORM, SQLite through its
    driver's connection; both make the same rows."""
    harness.services.pieces._direct = None
    user = harness.user(user_id=4900, language_code="en")
    await to_own_name(user)
    await user.send_text("Through the ORM")
    ref = draft_of(harness, 4900)["about"]["own_name"]
    assert await harness.open_piece(ref) == "Through the ORM"
    async with harness.services.sessionmaker() as session:
        days = set(await session.scalars(select(DraftPiece.created_at)))
    assert len(days) == 1 and all(day.hour == day.minute == 0 for day in days)


async def test_an_expired_draft_takes_its_sealed_answers_with_it(harness: Harness) -> None:
    from bot.models import Draft

    user = harness.user(user_id=5000, language_code="en")
    await to_own_name(user)
    await user.send_text("Expiring Name")
    other = harness.user(user_id=5001, language_code="en")
    await to_own_name(other)
    await other.send_text("Still Answering")

    def refs(draft: Any) -> set[str]:  # her name here, and the first person's relation
        return {
            ref["piece"] for ref in [*draft["about"].values(), draft["detainees"][0]["relation"]]
        }

    kept, mine = refs(draft_of(harness, 5001)), refs(draft_of(harness, 5000))
    async with harness.services.sessionmaker() as session, session.begin():
        # Her draft expires; every piece was sealed two days ago (the day rounding aside).
        await session.execute(update(DraftPiece).values(created_at=utcnow() - timedelta(days=2)))
        drafts = list(await session.scalars(select(Draft).where(Draft.kind == "user")))
        key = harness.services.server_key
        for row in drafts:
            item = json.loads(key.decrypt(row.data, context="draft:user:"))
            if item["key"] == 5000:
                row.expires_at = utcnow() - timedelta(hours=1)
    purged = await harness.services.retention.purge()
    assert purged.answer_pieces == len(mine) == 2
    assert await pieces(harness) == kept


async def test_a_draft_kept_the_old_way_is_sealed_at_her_next_answer(harness: Harness) -> None:
    from bot.models import Draft

    user = harness.user(user_id=5100, language_code="en")
    await to_own_name(user)
    draft = draft_of(harness, 5100)
    draft.pop("id")
    draft["about"] = {"relation": "sister"}  # asked once per case, before 2026-11
    draft["detainees"][0].pop("relation", None)
    draft["step"] = "own_name"
    assert harness.app is not None and harness.app.persistence is not None
    await harness.app.persistence.update_user_data(5100, harness.app.user_data[5100])
    await harness.app.update_persistence()
    await harness.restart(clean=False)
    await user.send_text("Next Answer")
    draft = draft_of(harness, 5100)
    assert await harness.open_piece(draft["detainees"][0]["relation"]) == "sister"
    assert await harness.open_piece(draft["about"]["own_name"]) == "Next Answer"
    key = harness.services.server_key
    async with harness.services.sessionmaker() as session:
        rows = list(await session.scalars(select(Draft).where(Draft.kind == "user")))
    stored = [key.decrypt(row.data, context="draft:user:") for row in rows]
    assert stored and not any(b"sister" in plain or b"Next Answer" in plain for plain in stored)
