"""One sealing path: every sealed object keeps its wrapped keys in one table, so a rewrap reaches
notes and questions too; a key that holds none is told so; only the team's keys get new ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from bot import sealing
from bot.crypto import CryptoError
from bot.models import AuditEntry, Base, Case, CaseNote, CaseStatus, FollowUp, Recipient, SealedKey
from bot.reviewing.cases import Reviewer, ReviewError
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import NotSealedToYou
from bot.reviewing.rewrap import rewrap
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import answer_token
from tests.test_intake_dialogue import PERSONS, PHOTO_1, walk_intake

NOTE = "On the Ili list, row 88."
QUESTION = "Is his ID 654321198501011234?"


async def decided_and_asked(harness: Harness, user_id: int) -> str:
    """A case with three files, a decision with a note, and a question (not yet sent)."""
    user = harness.user(user_id=user_id, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.IN_REVIEW, note=NOTE)
    await reviewer.followups.ask(code, QUESTION)
    return code


async def a_colleague(harness: Harness, *, listed: bool = True) -> ReviewerKey:
    """A new reviewer key in the database and (if listed) in the team key list."""
    colleague = ReviewerKey.generate()
    if listed:
        with harness.settings.recipients.open("a", encoding="utf-8") as team:
            team.write(colleague.public().to_line() + "\n")
        await harness.sign_roster([harness.reviewer.public(), colleague.public()])
    else:  # written into the database by someone who can
        public = colleague.public()
        async with harness.services.sessionmaker() as session, session.begin():
            session.add(
                Recipient(
                    key_id=public.key_id,
                    suite=public.suite,
                    public_key=public.public_bytes,
                    label="",
                    active=True,
                )
            )
    return colleague


async def handover(harness: Harness, colleague: ReviewerKey) -> int:
    """The test reviewer rewraps for a colleague, named by her fingerprint in the roster."""
    return await rewrap(
        harness.services.sessionmaker,
        harness.reviewer,
        colleague.public().fingerprint,
        team=harness.team_of(harness.reviewer),
        requests=harness.requests_of(harness.reviewer),
    )


def tools_of(harness: Harness, key: ReviewerKey) -> Reviewer:
    return Reviewer(
        harness.services.sessionmaker,
        key,
        inbox_fingerprint=harness.inbox_fingerprint,
        team_keys=harness.settings.recipients,
        roster_pin=harness.roster_pin(key),
    )


async def test_after_rewrap_the_new_reviewer_reads_notes_and_questions(harness: Harness) -> None:
    code = await decided_and_asked(harness, 8000)
    colleague = await a_colleague(harness)
    sessionmaker = harness.services.sessionmaker
    # Every object her key holds — the case, its answers, files and their records, her
    # contact, the note and the question — in one rewrap.
    async with sessionmaker() as session:
        kinds = set(
            await session.scalars(
                select(SealedKey.kind)
                .join(Recipient, Recipient.id == SealedKey.recipient_id)
                .where(Recipient.key_id == harness.reviewer.key_id)
            )
        )
        held = await session.scalar(
            select(func.count(SealedKey.id))
            .join(Recipient, Recipient.id == SealedKey.recipient_id)
            .where(Recipient.key_id == harness.reviewer.key_id)
        )
    assert {"case", "attachment", "contact", "note", "question"} <= kinds
    assert (
        await rewrap(
            sessionmaker,
            harness.reviewer,
            colleague.public().fingerprint,
            team=harness.team_of(harness.reviewer),
            requests=harness.requests_of(harness.reviewer),
        )
        == held
    )
    assert (
        await rewrap(
            sessionmaker,
            harness.reviewer,
            colleague.public().fingerprint,
            team=harness.team_of(harness.reviewer),
            requests=harness.requests_of(harness.reviewer),
        )
        == 0
    )
    theirs = tools_of(harness, colleague)
    opened = await theirs.show(code)
    # Her decision's note; the question's status change has none to open.
    assert [note["note"] for note in opened.notes] == [NOTE, ""]
    assert [item["question"] for item in await theirs.followups.of(code)] == [QUESTION]
    for item in opened.payload["evidence"]:
        assert await theirs.attachment(item["uid"]).read()


async def test_a_note_not_sealed_to_her_key_is_named_never_shown_empty(harness: Harness) -> None:
    code = await decided_and_asked(harness, 8100)
    colleague = await a_colleague(harness)
    sessionmaker = harness.services.sessionmaker
    await rewrap(
        sessionmaker,
        harness.reviewer,
        colleague.public().fingerprint,
        team=harness.team_of(harness.reviewer),
        requests=harness.requests_of(harness.reviewer),
    )
    async with sessionmaker() as session, session.begin():
        # What a rewrap before this table left behind: the case and files, no note, no question.
        recipient = await session.scalar(
            select(Recipient.id).where(Recipient.key_id == colleague.key_id)
        )
        await session.execute(
            delete(SealedKey).where(
                SealedKey.recipient_id == recipient, SealedKey.kind.in_(["note", "question"])
            )
        )
        note_uid = (
            await session.scalars(select(CaseNote.uid).where(CaseNote.sealed_note.is_not(None)))
        ).one()
        question_uid = (await session.scalars(select(FollowUp.uid))).one()
    theirs = tools_of(harness, colleague)
    with pytest.raises(NotSealedToYou) as note_error:
        await theirs.show(code)
    assert note_uid in str(note_error.value) and code in str(note_error.value)
    assert colleague.key_id in str(note_error.value) and "rewrap" in str(note_error.value)
    with pytest.raises(NotSealedToYou, match=question_uid):
        await theirs.followups.of(code)
    # The rewrap that covers every kind mends it.
    assert (
        await rewrap(
            sessionmaker,
            harness.reviewer,
            colleague.public().fingerprint,
            team=harness.team_of(harness.reviewer),
            requests=harness.requests_of(harness.reviewer),
        )
        == 2
    )
    assert (await theirs.show(code)).notes[0]["note"] == NOTE


async def refusals(harness: Harness) -> list[dict[str, Any]]:
    async with harness.services.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "seal.refused").order_by(AuditEntry.id)
        )
        return [{"target": row.target, **json.loads(row.detail)} for row in rows]


async def test_a_recipient_row_inserted_in_the_database_gets_no_note_or_question(
    harness: Harness,
) -> None:
    user = harness.user(user_id=8200, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    intruder = await a_colleague(harness, listed=False)
    reviewer = harness.reviewer_tool()
    with pytest.raises(ReviewError, match=f"{intruder.key_id}.*not in the team roster"):
        await reviewer.decisions.set_status(code, CaseStatus.VERIFIED, note=NOTE)
    with pytest.raises(ReviewError, match="not in the team roster"):
        await reviewer.followups.ask(code, QUESTION)
    async with harness.services.sessionmaker() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert case.status == CaseStatus.RECEIVED  # nothing of the refused decision was kept
        assert await session.scalar(select(func.count(CaseNote.id))) == 0
        assert await session.scalar(select(func.count(FollowUp.id))) == 0
        held = await session.scalar(
            select(func.count(SealedKey.id))
            .join(Recipient, Recipient.id == SealedKey.recipient_id)
            .where(Recipient.key_id == intruder.key_id)
        )
        assert held == 0
    refused = await refusals(harness)
    assert [(r["target"], r["reason"]) for r in refused] == [
        (intruder.key_id, "not in the team list")
    ] * 2
    assert refused[0]["fingerprint"] == intruder.public().fingerprint[:16]


async def test_without_a_team_key_list_nothing_is_sealed(harness: Harness) -> None:
    """Tools with no pinned roster and no team key list seal nothing, and say so in the log
    (their signed event names the roster the database states; the bot checks the rest)."""
    user = harness.user(user_id=8300, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    listless = Reviewer(
        harness.services.sessionmaker,
        harness.reviewer,
        inbox_fingerprint=harness.inbox_fingerprint,
    )
    with pytest.raises(ReviewError, match="no team key list"):
        await listless.decisions.set_status(code, CaseStatus.VERIFIED, note=NOTE)
    with pytest.raises(ReviewError, match="no team key list"):
        await listless.followups.ask(code, QUESTION)
    assert [r["reason"] for r in await refusals(harness)] == ["no team list"] * 2
    # A decision without a note seals nothing, so it needs no list.
    await listless.decisions.set_status(code, CaseStatus.VERIFIED)
    assert (await listless.show(code)).status == CaseStatus.VERIFIED


async def test_rewrap_refuses_a_target_outside_the_signed_roster(harness: Harness) -> None:
    """Rewrap goes only to a key of the roster she pinned, named by its full fingerprint:
    never to a key id looked up in the database, nor to a row whose key was swapped."""
    await decided_and_asked(harness, 8400)
    stranger = await a_colleague(harness, listed=False)
    team = harness.team_of(harness.reviewer)
    sessionmaker = harness.services.sessionmaker
    with pytest.raises(ReviewError, match="not in the team roster"):
        await rewrap(
            sessionmaker,
            harness.reviewer,
            stranger.public().fingerprint,
            team=team,
            requests=harness.requests_of(harness.reviewer),
        )
    with pytest.raises(ReviewError, match="full fingerprint"):
        await rewrap(
            sessionmaker,
            harness.reviewer,
            stranger.key_id,
            team=team,
            requests=harness.requests_of(harness.reviewer),
        )
    # A listed colleague whose database row now holds someone else's public key.
    colleague = await a_colleague(harness)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Recipient)
            .where(Recipient.key_id == colleague.key_id)
            .values(public_key=stranger.public().public_bytes)
        )
    with pytest.raises(ReviewError, match="someone changed the database"):
        await rewrap(
            sessionmaker,
            harness.reviewer,
            colleague.public().fingerprint,
            team=team,
            requests=harness.requests_of(harness.reviewer),
        )
    async with sessionmaker() as session:
        given = await session.scalar(
            select(func.count(SealedKey.id))
            .join(Recipient, Recipient.id == SealedKey.recipient_id)
            .where(Recipient.key_id.in_([stranger.key_id, colleague.key_id]))
        )
    assert given == 0


async def test_every_kind_of_sealed_object_goes_through_one_function_into_one_table(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[tuple[str, int]] = []
    keep = sealing._keep

    def counted(session: Any, kind: str, uid: str, wrapped: Any, holders: Any) -> None:
        stored.append((kind, len(holders)))
        keep(session, kind, uid, wrapped, holders)

    monkeypatch.setattr(sealing, "_keep", counted)
    code = await decided_and_asked(harness, 8500)
    user = harness.users[-1]
    async with harness.services.sessionmaker() as session:
        kinds = dict(
            (kind, int(n))
            for kind, n in await session.execute(
                select(SealedKey.kind, func.count(SealedKey.id)).group_by(SealedKey.kind)
            )
        )
        bot_copies = await session.scalar(
            select(func.count(SealedKey.id)).where(SealedKey.delivery_key_id.is_not(None))
        )
    # The question is sealed to the team; before it is sent, its delivery (her chat from her
    # sealed contact, the text, the answer token) to the bot's delivery key only.
    one_each = {kind: kinds.get(kind) for kind in ("case", "contact", "note", "question")}
    assert one_each == {"case": 1, "contact": 1, "note": 1, "question": 1}
    assert kinds["attachment"] == 3 and kinds["delivery"] == 1 and bot_copies == 1
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    followup_id = answer_token(user)  # the token her Answer button carries
    await user.press(f"fu:{followup_id}")
    await user.send_text("Yes: 654321198501011234")
    await user.send_photo(PHOTO_1)
    await user.press(f"fudone:{followup_id}")
    async with harness.services.sessionmaker() as session:
        rows = list(await session.execute(select(SealedKey.kind, SealedKey.delivery_key_id)))
    assert {kind for kind, _holder in rows} == set(sealing.KINDS) - {"delivery"}
    assert all(holder is None for _kind, holder in rows)  # the delivery went with sending
    # Every row came through seal_object; no other table holds a wrapped key.
    assert sum(holders for _kind, holders in stored) == len(rows) + 1
    assert {kind for kind, _holders in stored} == set(sealing.KINDS)
    wrapped_columns = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if "wrapped" in column.name
    }
    assert wrapped_columns == {"sealed_keys.wrapped_key"}
    answers = await harness.reviewer_tool().followups.of(code)
    assert [a["kind"] for a in answers[0]["answers"]] == ["text", "photo"]


async def test_a_kind_nobody_registered_is_refused() -> None:
    with pytest.raises(CryptoError, match="KINDS"):
        await sealing.seal_object(None, "gossip", "x", b"chat 1", [])  # type: ignore[arg-type]
