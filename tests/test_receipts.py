"""Receipts instead of an account link: /status and /withdraw with the receipt code, from any
account; the server keeps only its hash; wrong codes are limited and the team is told."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.draft_pieces import DraftPiece
from bot.earlier_links import EarlierLink
from bot.models import (
    Account,
    Attachment,
    AuditEntry,
    Case,
    CaseStatus,
    Delivery,
    Role,
    SealedKey,
)
from bot.services import receipts
from bot.services.delivery import ALERT, RECEIPT
from bot.services.earlier import send_earlier_receipts
from handlers.fading import FADE_AFTER, delete_faded
from tests.harness import Harness
from tests.scenario import CODE, PERSONS, receipt_of, walk_intake
from tests.scenario import RECEIPT as RECEIPT_CODE
from tests.test_intake_robustness import database_bytes


def test_a_receipt_is_80_random_bits_in_four_groups_and_forgives_typing() -> None:
    receipt = receipts.new_receipt()
    assert RECEIPT_CODE.fullmatch(receipt) and len(receipt.replace("-", "")) == 16
    assert len({receipts.new_receipt() for _ in range(1000)}) == 1000
    # Lower case, spaces, no dashes, O for 0 and I or L for 1 are all read as she meant.
    typed = receipt.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert receipts.normalise_receipt(typed) == receipt
    # Copied from paper on a Cyrillic keyboard, or with Arabic-Indic digits.
    assert receipts.normalise_receipt("7К2М-Q9ХD-3НРА-V0ТС") == "7K2M-Q9XD-3HPA-V0TC"
    assert receipts.normalise_receipt("٧K2M-Q9XD-3HPA-V٠TC") == "7K2M-Q9XD-3HPA-V0TC"
    # A case code, a short code and letters outside the alphabet are not receipts.
    assert receipts.normalise_receipt("K7QF-M2XD") is None
    assert receipts.normalise_receipt("UUUU-UUUU-UUUU-UUUU") is None
    assert (
        receipts.receipt_hash(receipt)
        == hashlib.sha256(receipt.replace("-", "").encode()).hexdigest()
    )


async def test_the_server_keeps_only_the_hash_and_no_account_link(harness: Harness) -> None:
    mother = harness.user(user_id=5100, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    receipt = receipt_of(mother)
    thanks = next(m.text or "" for m in mother.messages if receipt in (m.text or ""))
    assert code in thanks and "/status" in thanks and "Write it on paper" in thanks
    async with harness.services.sessionmaker() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert case.receipt_hash == receipts.receipt_hash(receipt)
    raw = await database_bytes(harness)
    assert receipt.encode() not in raw and receipt.replace("-", "").encode() not in raw


async def test_status_and_withdraw_work_from_any_account(harness: Harness) -> None:
    mother = harness.user(user_id=5200, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    receipt = receipt_of(mother)
    # From another phone, another account: the receipt is all she needs.
    other = harness.user(user_id=5201, language_code="en")
    typed = await other.send_command("status", receipt.lower())
    assert other.last_text == (
        f"Case {code}: received. This message will be deleted from the chat in 10 minutes."
    )
    assert typed.deleted, "the message with her receipt code stays in the chat"
    assert receipt not in "".join(m.text or "" for m in other.messages)
    typed = await other.send_command("withdraw", receipt)
    assert typed.deleted and code in other.last_text
    (yes, _no) = [data for _text, data in other.buttons()]
    assert receipt not in yes and receipt.replace("-", "") not in yes
    # The confirmation belongs to the account that asked, and works once.
    await mother.press(yes, message_id=mother.last.message_id)  # a forged press
    assert "expired" in mother.last_text
    await other.press(yes)
    assert f"Case {code} was withdrawn" in other.last_text
    await other.press(yes, message_id=other.last.message_id)  # pressed again: used up
    assert "expired" in other.last_text
    async with harness.services.sessionmaker() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert case.status == CaseStatus.WITHDRAWN and case.payload is None
        assert case.receipt_hash is None
        assert list(await session.scalars(select(SealedKey.id))) == []
        assert list(await session.scalars(select(Attachment.id))) == []
        actors = [e.actor for e in await session.scalars(select(AuditEntry))]
        assert "relative" in actors
    # Withdrawn: the receipt is now unknown (its hash went with the case).
    await other.send_command("status", receipt)
    assert "No case was found" in other.last_text


async def test_a_case_code_or_a_wrong_receipt_is_unknown_and_limited(harness: Harness) -> None:
    mother = harness.user(user_id=5300, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    stranger = harness.user(user_id=5301, language_code="en")
    await stranger.send_command("status", code)
    unknown = stranger.last_text
    assert "No case was found" in unknown and code not in unknown
    await stranger.send_command("withdraw", receipts.new_receipt())
    assert stranger.last_text == unknown
    await stranger.send_command("status", "nonsense")
    assert stranger.last_text == unknown
    for _ in range(2):
        await stranger.send_command("status", receipts.new_receipt())
    # Five wrong tries in the hour: the sixth is refused, even with the right receipt.
    await stranger.send_command("status", receipt_of(mother))
    assert "Too many receipt codes" in stranger.last_text
    # Her own account is not blocked by a stranger's tries.
    await mother.send_command("status", receipt_of(mother))
    assert code in mother.last_text


async def test_many_wrong_receipts_alert_the_team_once(harness: Harness) -> None:
    await harness.services.roles.grant("cli", 5400, Role.REVIEWER)
    reviewer = harness.user(user_id=5400, language_code="en")
    await reviewer.send_command("language")  # staff keep a chat id for alerts
    await reviewer.press("lang:en")
    harness.services.receipt_attempts.overall = 3
    guessers = [harness.user(user_id=5410 + i, language_code="ru") for i in range(4)]
    for guesser in guessers:
        await guesser.send_command("status", receipts.new_receipt())
    async with harness.services.sessionmaker() as session:
        alerts = list(await session.scalars(select(Delivery).where(Delivery.kind == ALERT)))
    assert len(alerts) == 1
    # Only the team is told: nobody is locked out by other people's wrong tries.
    await guessers[0].send_command("status", receipts.new_receipt())
    assert "Слишком" not in guessers[0].last_text


async def test_mycases_is_gone(harness: Harness) -> None:
    mother = harness.user(user_id=5500, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    await mother.send_command("mycases")
    assert not CODE.search(mother.last_text) and code not in mother.last_text


async def test_earlier_cases_get_their_receipt_code_once_and_the_links_go(
    harness: Harness, tmp_path: Any
) -> None:
    """Revision 0014 moved the account links aside; at the next start each relative the bot
    can reach gets her case's receipt code once, and every link is deleted."""
    services = harness.services
    mother = harness.user(user_id=5600, language_code="ru")
    code = await walk_intake(mother, locale="ru", persons=PERSONS[:1])
    lost = harness.user(user_id=5601, language_code="en")  # her chat id was never kept
    unreachable = await walk_intake(lost, locale="en", persons=PERSONS[:1])
    async with services.sessionmaker() as session, session.begin():  # as 0014 left them
        for user, case_code in ((mother, code), (lost, unreachable)):
            case = (await session.scalars(select(Case).where(Case.code == case_code))).one()
            case.receipt_hash = None
            pseudonym = services.accounts.pseudonym(user.user_id)
            account = (
                await session.scalars(select(Account).where(Account.pseudonym == pseudonym))
            ).one()
            if user is mother:  # the old way kept it for follow-up questions
                account.chat_ref = services.server_key.encrypt(b"5600", context="chat")
            session.add(EarlierLink(case_id=case.id, account_id=account.id))
    signer = services.cases.signer
    first_start = tmp_path / "first-start-after-0014"  # this server never ran the step
    first_start.mkdir()
    done = first_start / "intake.key.earlier-links-done"
    sent = await send_earlier_receipts(services.sessionmaker, services.server_key, signer, done)
    assert sent == 1 and done.exists()
    again = await send_earlier_receipts(services.sessionmaker, services.server_key, signer, done)
    assert again == 0
    assert services.sender is not None
    await services.sender.drain(kinds=(RECEIPT,))
    told = mother.last_text
    receipt = RECEIPT_CODE.search(told)
    assert receipt is not None and code in told and "/status" in told
    other = harness.user(user_id=5602, language_code="ru")
    await other.send_command("status", receipt.group(0))
    assert code in other.last_text
    async with services.sessionmaker() as session:
        assert list(await session.scalars(select(EarlierLink))) == []
        assert list(await session.scalars(select(Delivery).where(Delivery.kind == RECEIPT))) == []
        chats = list(await session.scalars(select(Account.chat_ref)))
    assert chats and set(chats) == {None}  # relatives who did not subscribe keep no chat id


async def test_answers_that_name_a_case_go_from_her_chat_after_ten_minutes(
    harness: Harness,
) -> None:
    """A phone looked at later shows no case code from /status or /withdraw: the answers
    that name one are deleted after FADE_AFTER (the sentence says 10 minutes), also when the
    bot was restarted in between."""
    assert FADE_AFTER.total_seconds() == 600
    mother = harness.user(user_id=5700, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    receipt = receipt_of(mother)
    other = harness.user(user_id=5701, language_code="en")
    await other.send_command("status", receipt)
    shown = other.last
    assert code in shown.shown_text and "deleted from the chat in 10 minutes" in shown.shown_text
    await other.send_command("withdraw", receipt)
    offer = other.last
    assert code in offer.shown_text
    # Not yet due: nothing goes.
    assert await delete_faded(harness.app, other.user_id) == 0
    app = await harness.restart()
    later = time.time() + FADE_AFTER.total_seconds() + 1
    assert await delete_faded(app, other.user_id, now=later) == 2
    assert shown.deleted and offer.deleted
    assert not any(code in (m.text or "") for m in other.messages)


async def test_a_receipt_sent_on_its_own_is_read_as_one_and_deleted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a bare /status or /withdraw she may send the receipt as its own message, even
    in the middle of a draft: it is taken as the receipt, never as an answer, and deleted."""
    # A receipt with digits and letters in its groups, as nearly all are (one of only
    # letters is taken alone only after /status: tests/test_receipt_typing.py).
    monkeypatch.setattr("bot.services.cases.new_receipt", lambda: "4M7Q-X2KD-9TPA-H3VC")
    mother = harness.user(user_id=5800, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    receipt = receipt_of(mother)
    sister = harness.user(user_id=5801, language_code="en")
    await walk_intake(sister, locale="en", persons=PERSONS[:1], submit=False)
    await sister.send_command("status")
    assert "Please write your receipt code" in sister.last_text
    typed = await sister.send_text(receipt.lower().replace("-", " "))
    assert typed.deleted and f"Case {code}: received." in sister.last_text
    # Shaped like a receipt, with no command before it: still a receipt, still deleted.
    typed = await sister.send_text(receipt)
    assert typed.deleted and f"Case {code}" in sister.last_text
    # /withdraw, then the receipt: the confirmation, with its one-time button.
    await sister.send_command("withdraw")
    typed = await sister.send_text(receipt)
    assert typed.deleted and f"Withdraw case {code}?" in sister.last_text
    await sister.press(next(d for _t, d in sister.buttons() if d.endswith(":no")))
    # Her draft kept none of it.
    texts = "".join(m.text or "" for m in sister.messages)
    assert receipt not in texts and receipt.replace("-", "") not in texts
    async with harness.services.sessionmaker() as session:
        uids = list(await session.scalars(select(DraftPiece.uid)))
    pieces = [str(await harness.open_piece({"piece": uid})) for uid in uids]
    raw = receipt.replace("-", "")
    assert pieces and not any(raw in p.upper().replace(" ", "").replace("-", "") for p in pieces)


async def test_a_receipt_hash_moved_to_another_case_finds_nothing(harness: Harness) -> None:
    """Someone who can write to the database swaps two cases' receipt hashes, so that her
    /withdraw would withdraw another family's case: the bot signed each hash with its case's
    code, so both receipts now find nothing, and the refusal is audited."""
    mother = harness.user(user_id=5900, language_code="en")
    mine = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    stranger = harness.user(user_id=5901, language_code="en")
    theirs = await walk_intake(stranger, locale="en", persons=PERSONS[:1])
    async with harness.services.sessionmaker() as session, session.begin():
        a = (await session.scalars(select(Case).where(Case.code == mine))).one()
        b = (await session.scalars(select(Case).where(Case.code == theirs))).one()
        hashes = a.receipt_hash, b.receipt_hash
        a.receipt_hash = b.receipt_hash = None
        await session.flush()
        a.receipt_hash, b.receipt_hash = hashes[1], hashes[0]
    await mother.send_command("withdraw", receipt_of(mother))
    assert "No case was found" in mother.last_text and theirs not in mother.last_text
    async with harness.services.sessionmaker() as session:
        refused = list(
            await session.scalars(
                select(AuditEntry.target).where(AuditEntry.action == "receipt.unbound")
            )
        )
        status = await session.scalar(select(Case.status).where(Case.code == theirs))
    assert refused == [theirs] and status == CaseStatus.RECEIVED


async def test_receipts_of_earlier_cases_are_bound_once(harness: Harness, tmp_path: Any) -> None:
    """Cases submitted before revision 0019 have no signature: the next start signs them
    once and remembers that in a file beside the intake key; after that, a hash without a
    signature finds nothing."""
    mother = harness.user(user_id=5950, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    sessionmaker, signer = harness.services.sessionmaker, harness.services.cases.signer
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Case).where(Case.code == code).values(receipt_sig=None))
    done = tmp_path / "first-start" / "receipts-bound"
    done.parent.mkdir()
    assert await receipts.bind_earlier(sessionmaker, signer, done) == 1
    await mother.send_command("status", receipt_of(mother))
    assert f"Case {code}: received." in mother.last_text
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Case).where(Case.code == code).values(receipt_sig=None))
    assert await receipts.bind_earlier(sessionmaker, signer, done) == 0  # once only
    await mother.send_command("status", receipt_of(mother))
    assert "No case was found" in mother.last_text


async def test_a_link_written_after_the_one_time_step_gets_no_receipt(harness: Harness) -> None:
    """Someone who can write to the database adds an earlier link from a case to an account
    whose chat he holds, hoping the next start mints him a receipt code for it: the step ran
    once on this server (a file beside the intake key says so), so the link is deleted, no
    receipt code is made, and the refusal is audited."""
    services = harness.services
    mother = harness.user(user_id=5960, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    intruder = harness.user(user_id=5961, language_code="en")
    await intruder.send_command("subscribe")  # his account keeps a chat id, for news
    async with services.sessionmaker() as session, session.begin():
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        case.receipt_hash = None
        pseudonym = services.accounts.pseudonym(intruder.user_id)
        account = (
            await session.scalars(select(Account).where(Account.pseudonym == pseudonym))
        ).one()
        session.add(EarlierLink(case_id=case.id, account_id=account.id))
    await harness.restart()
    services = harness.services
    async with services.sessionmaker() as session:
        assert list(await session.scalars(select(EarlierLink))) == []
        assert list(await session.scalars(select(Delivery).where(Delivery.kind == RECEIPT))) == []
        refused = await session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "earlier_links.refused")
        )
        assert await session.scalar(select(Case.receipt_hash).where(Case.code == code)) is None
    assert refused == '{"links": 1}'


async def test_a_receipt_moved_with_its_code_finds_nothing(harness: Harness) -> None:
    """The binding covers the case's uid too: moving a receipt's hash, signature and code
    onto another family's row (and giving hers another code) finds nothing."""
    mother = harness.user(user_id=5970, language_code="en")
    mine = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    other = harness.user(user_id=5971, language_code="en")
    theirs = await walk_intake(other, locale="en", persons=PERSONS[:1])
    async with harness.services.sessionmaker() as session, session.begin():
        a = (await session.scalars(select(Case).where(Case.code == mine))).one()
        b = (await session.scalars(select(Case).where(Case.code == theirs))).one()
        moved = a.code, a.receipt_hash, a.receipt_sig
        a.code, a.receipt_hash, a.receipt_sig = "QQQQ-QQQQ", None, None
        b.code, b.receipt_hash, b.receipt_sig = "WWWW-WWWW", None, None
        await session.flush()
        b.code, b.receipt_hash, b.receipt_sig = moved
    await mother.send_command("withdraw", receipt_of(mother))
    assert "No case was found" in mother.last_text
    async with harness.services.sessionmaker() as session:
        statuses = set(await session.scalars(select(Case.status)))
    assert statuses == {CaseStatus.RECEIVED}


async def test_receipts_are_bound_again_after_the_intake_key_is_replaced(
    harness: Harness,
) -> None:
    """The seizure runbook replaces the intake key: `aigaq keys intake --rebind-receipts`
    signs every receipt again, so relatives' receipt codes keep working."""
    mother = harness.user(user_id=5980, language_code="en")
    code = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    receipt = receipt_of(mother)
    intake = harness.settings.intake_key()
    intake.unlink()  # destroyed, as the runbook says; the next start makes a new one
    app = await harness.restart()
    await mother.send_command("status", receipt)
    assert "No case was found" in mother.last_text
    assert await receipts.rebind_all(app.services.sessionmaker, app.services.cases.signer) == 1
    await mother.send_command("status", receipt)
    assert f"Case {code}: received." in mother.last_text
