"""What Aigaq tells a relative about itself, pinned by what it does (issue 13).

Each test names the sentence it backs. If one fails, either the code broke a promise or it
now keeps a better one: then change the sentence, in every language, with the test.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select, text

from bot.crypto import CryptoError, ServerKey, open_sealed
from bot.crypto.delivery import DeliveryKeyring
from bot.i18n import translate
from bot.models import (
    Account,
    Attachment,
    AuditEntry,
    Case,
    CaseNote,
    CaseStatus,
    Delivery,
    Draft,
    FollowUp,
    Notice,
    SealedKey,
    utcnow,
)
from bot.reviewing.cases import ReviewError
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.un import QUESTIONS, QUESTIONS_HEADING, missing_question
from bot.sealing import orphaned
from bot.services.intake import BY_NAME, UN_TRANSMISSION
from handlers.followup import deliver_questions
from tests.conftest import TestDatabase
from tests.harness import ORGANISATION, Harness
from tests.scenario import answer_token, receipt_of
from tests.test_intake_dialogue import PERSONS, VOICE, walk_intake

LOCALES = ("kk", "ru", "en", "kk_Arab")
RUN_BY = "Aigaq is run by {organisation}. It is not the UN or any government."
SEALED_WHEN = (
    "Your answers, files and voice messages are sealed as soon as they arrive: on our "
    "server, only the reviewing team can read them."
)
REMAINS = (
    "What remains: the case code, the date, the word «withdrawn», and the team's log of what "
    "was done with the case. Copies in backups made earlier are not deleted."
)
FADES = "This message will be deleted from the chat in 10 minutes."
PUBLICATION_WARNING = BY_NAME["consent_sharing"].note
# The Working Group's full name, as the glossary gives it, in each language.
WORKING_GROUP = {
    "en": "UN Working Group on Enforced or Involuntary Disappearances",
    "ru": "Рабочую группу ООН по насильственным или недобровольным исчезновениям",
    "kk": "БҰҰ-ның Күштеп немесе еріксіз жоғалту жөніндегі жұмыс тобына",
    "kk_Arab": "بىرىككەن ۇلتتار ۇيىمىنىڭ",
}


def run_by(locale: str) -> str:
    return translate(locale, RUN_BY).format(organisation=ORGANISATION)


def shown(user: object) -> list[str]:
    return [m.shown_text for m in user.all_messages if m.from_bot]  # type: ignore[attr-defined]


# -- who runs it, in the welcome, /help and /privacy --------------------------------------


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
async def test_the_welcome_says_who_runs_aigaq_and_what_is_sealed_when(
    harness: Harness, locale: str
) -> None:
    user = harness.user(user_id=3100, language_code=locale)
    await user.send_command("start")
    assert run_by(locale) in user.last_text
    assert ORGANISATION in user.last_text
    assert translate(locale, SEALED_WHEN) in user.last_text
    assert "sealed at once" not in user.last_text


@pytest.mark.parametrize("locale", LOCALES)
async def test_help_and_privacy_say_who_runs_it_in_every_language(
    harness: Harness, locale: str
) -> None:
    user = harness.user(user_id=3200, language_code="en")
    await user.send_command("start")
    await user.press(f"lang:{locale}")
    await user.send_command("help")
    assert run_by(locale) in user.last_text
    await user.send_command("privacy")
    privacy = user.last_text
    assert privacy.startswith(run_by(locale))
    # The Telegram paragraph: what Telegram keeps, not only "that you wrote".
    assert (
        translate(
            locale,
            "Like every Telegram chat, this chat and everything you write in it stay on "
            "Telegram's servers until you delete them. Telegram also sees when you write to this "
            "bot. To lower the risk, use a Telegram account that is not tied to your everyday "
            "phone number, and delete this chat when you have finished. If you travel to "
            "China, delete this chat before you go.",
        )
        in privacy
    )
    assert translate(locale, REMAINS) in privacy
    # The number of days is the one the bot is configured with.
    assert str(harness.settings.draft_ttl_days) in privacy


async def test_the_bot_does_not_start_without_saying_who_runs_it(harness: Harness) -> None:
    from bot.app import build_application
    from bot.settings import SettingsError

    nameless = harness.settings.model_copy(update={"organisation": None})
    with pytest.raises(SettingsError, match="AIGAQ_ORGANISATION"):
        build_application(nameless, request=harness.api)


# -- what is sealed when -----------------------------------------------------------------


async def test_answers_files_and_voice_are_sealed_as_they_arrive(harness: Harness) -> None:
    """/privacy: answers, files and voice sealed as they arrive; the bot's own key opens only
    the control values (where she is, her choices), never what she wrote."""
    user = harness.user(user_id=3300, language_code="en")
    await user.send_command("start")
    await user.press("lang:en")
    await user.press("i:safety:_continue")
    await user.press("i:relation:mother")
    await user.send_text("Gulbahram Testkyzy")
    await user.send_voice(VOICE)  # her residence, said aloud
    key = harness.services.server_key
    async with harness.services.sessionmaker() as session:
        voice = (await session.scalars(select(Attachment))).one()
        drafts = list(await session.scalars(select(Draft)))
    # The voice message is sealed already: it opens with the reviewer's key, and its
    # ciphertext does not hold it.
    assert await harness.open_attachment(voice.uid) == VOICE
    # The typed name is sealed too: the server key opens the draft, and finds a reference.
    opened = [key.decrypt(d.data, context=f"draft:{d.kind}:{d.name}") for d in drafts]
    assert not any(b"Gulbahram Testkyzy" in plain for plain in opened)
    assert not any(b"mother" in plain for plain in opened)
    draft = harness.app.user_data[3300]["draft"]  # type: ignore[union-attr]
    assert await harness.open_piece(draft["about"]["own_name"]) == "Gulbahram Testkyzy"
    assert await harness.open_piece(draft["detainees"][0]["relation"]) == "mother"


async def test_after_submit_only_reviewers_can_open_it_not_the_bot(harness: Harness) -> None:
    user = harness.user(user_id=3400, language_code="kk")
    code = await walk_intake(user, locale="kk", persons=PERSONS[:1])
    payload = await harness.open_case(code)
    assert payload["testifier"]["own_name"] == "Гүлбаһрам"
    key = harness.services.server_key
    async with harness.services.sessionmaker() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        drafts = list(await session.scalars(select(Draft)))
        wrapped = list(
            await session.scalars(select(SealedKey).where(SealedKey.object_uid == case.uid))
        )
    # No draft holds her answers any more.
    for draft in drafts:
        plain = key.decrypt(draft.data, context=f"draft:{draft.kind}:{draft.name}")
        assert "Гүлбаһрам".encode() not in plain and "Ерлан".encode() not in plain
    # The bot's only private keys (its delivery keys) cannot open the case.
    assert {w.kind for w in wrapped} == {"case", "contact"}
    case_key = next(w for w in wrapped if w.kind == "case")
    assert case.payload is not None
    current = harness.services.delivery_keys.current()
    with pytest.raises(CryptoError):
        open_sealed(
            case.payload, case_key.wrapped_key, current.key, object_id=case.uid, kind="case"
        )
    with pytest.raises(CryptoError):
        open_sealed(
            case.payload,
            case_key.wrapped_key,
            ReviewerKey.generate(),
            object_id=case.uid,
            kind="case",
        )


async def test_what_privacy_admits_a_seized_server_with_its_key_can_link(
    harness: Harness,
) -> None:
    """/privacy: the account is a code made with the bot's key, the chat number is not kept
    on it when she agreed to contact (only sealed with her case, for the team), and nothing
    on the server links her account to her cases (a receipt code's hash stands for her)."""
    user = harness.user(user_id=3500, language_code="ru")
    code = await walk_intake(user, locale="ru", persons=PERSONS[:1])  # contact: yes
    key = harness.services.server_key
    async with harness.services.sessionmaker() as session:
        pseudonym = harness.services.accounts.pseudonym(3500)
        account = (
            await session.scalars(select(Account).where(Account.pseudonym == pseudonym))
        ).one()
        assert "3500" not in account.pseudonym
        assert account.chat_ref is None
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
    assert case.contact is not None and case.receipt_hash is not None
    assert not [c for c in Case.__table__.columns if c.foreign_keys and "account" in c.name]
    with pytest.raises(CryptoError):  # sealed to the team: the server key does not open it
        key.decrypt(case.contact, context="chat")
    contact = open_sealed(
        case.contact,
        await harness.wrapped_key("contact", case.uid),
        harness.reviewer,
        object_id=case.uid,
        kind="contact",
    )
    assert json.loads(contact) == {"chat": user.chat_id, "locale": "ru"}


def _recording_server_encryption(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every (plaintext, ciphertext) the server key makes from now on."""
    made: list[tuple[bytes, bytes]] = []
    original = ServerKey.encrypt

    def encrypt(self: ServerKey, plain: bytes, *, context: str) -> bytes:
        sealed = original(self, plain, context=context)
        made.append((plain, sealed))
        return sealed

    monkeypatch.setattr(ServerKey, "encrypt", encrypt)
    return made


def _on_disk(database: TestDatabase) -> bytes:
    path = Path(database.url.split("///", 1)[1])
    return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))


async def test_no_earlier_draft_stays_on_disk_after_submit_or_cancel(
    harness: Harness, database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/privacy: after Submit (or /cancel) only the sealed case remains. Checked in the
    database file and its write-ahead log, byte for byte. On PostgreSQL old row versions stay
    until VACUUM: /privacy says traces can stay for a while, docs/deploy.md what to do."""
    if database.is_postgres:
        pytest.skip("PostgreSQL keeps old row versions until VACUUM (docs/deploy.md)")
    made = _recording_server_encryption(monkeypatch)
    user = harness.user(user_id=3660, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS[:1])
    other = harness.user(user_id=3661, language_code="en")
    await other.send_command("start")
    await other.press("lang:en")
    await other.press("i:safety:_continue")
    await other.press("i:relation:mother")
    await other.send_text("Aisulu Cancelkyzy")
    await other.send_command("cancel")
    await other.press("cancel:yes")
    answers = [sealed for plain, sealed in made if b"own_name" in plain]
    assert len(answers) > 10  # many versions of both drafts were written ...
    disk = _on_disk(database)
    assert not [sealed for sealed in answers if sealed in disk]  # ... and none is left


# -- withdrawal ---------------------------------------------------------------------------


async def test_withdrawal_deletes_and_leaves_exactly_what_she_is_told(harness: Harness) -> None:
    user = harness.user(user_id=3600, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    other = await walk_intake(
        harness.user(user_id=3601, language_code="kk"), locale="kk", persons=PERSONS[:1]
    )
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(
        code, CaseStatus.VERIFIED, grade="documented", note="On the Ili list, row 88."
    )
    await reviewer.decisions.link(code, other)  # the same man, reported by two relatives
    await reviewer.decisions.link(other, code)
    await reviewer.followups.ask(code, "Is his ID 654321198501011234?")
    await deliver_questions(harness.app)  # type: ignore[arg-type]
    followup_id = answer_token(user)  # the token her Answer button carries
    await user.press(f"fu:{followup_id}")  # she starts answering ...
    await user.send_command("withdraw", receipt_of(user))
    assert translate("en", REMAINS) in user.last_text
    await user.press(user.buttons()[0][1])
    told = user.last_text
    assert f"Case {code} was withdrawn." in told
    assert told.endswith(translate("en", REMAINS) + " " + translate("en", FADES))
    await user.send_text("Yes, that is his number.")  # ... and goes on after withdrawing
    assert user.last_text == "This question is closed, so this answer was not kept."
    async with harness.services.sessionmaker() as session:
        case = (await session.scalars(select(Case).where(Case.code == code))).one()

        async def count(model: type, *where: object) -> int:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

        # Deleted: testimony, files (her answer included) and their records, keys, notes,
        # questions.
        assert case.payload is None
        assert await count(Attachment, Attachment.case_id == case.id) == 0
        # No key of any sealed object of hers is left: not the case's, and none without its
        # object (files, notes, questions deleted with it).
        assert await count(SealedKey, or_(SealedKey.object_uid == case.uid, orphaned())) == 0
        assert await count(CaseNote, CaseNote.case_id == case.id) == 0
        assert await count(FollowUp, FollowUp.case_id == case.id) == 0
        assert await count(Notice, Notice.case_id == case.id) == 0
        # Left: the code, the date, «withdrawn», the team's log; not even the receipt's hash.
        assert case.status == CaseStatus.WITHDRAWN and case.created_at is not None
        assert case.receipt_hash is None
        # The row says nothing else about her case any more, nor what it was linked to.
        said = (case.locale, case.detainee_count, case.attachment_count, case.urgent, case.grade)
        assert said == ("", 0, 0, False, "reported")
        assert (case.consent_contact, case.consent_sharing, case.duplicate_of) == (
            False,
            "team",
            None,
        )
        linked = await session.scalar(select(Case.duplicate_of).where(Case.code == other))
        assert linked is None
        # Her chat id, sealed beside the case for its questions, goes with it (and was never
        # on her account: she did not subscribe to news).
        assert case.contact is None
        assert await count(Delivery, Delivery.case_id == case.id) == 0
        pseudonym = harness.services.accounts.pseudonym(user.user_id)
        account = await session.scalar(select(Account).where(Account.pseudonym == pseudonym))
        assert account is not None and account.chat_ref is None
        logged = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "case.withdrawn", AuditEntry.target == code)
        )
        assert logged == 1
    assert translate("en", "withdrawn") in translate("en", REMAINS)


async def test_done_after_withdrawing_does_not_say_the_answer_was_kept(harness: Harness) -> None:
    user = harness.user(user_id=3650, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])
    await harness.reviewer_tool().followups.ask(code, "Is his ID 654321198501011234?")
    await deliver_questions(harness.app)  # type: ignore[arg-type]
    followup_id = answer_token(user)  # the token her Answer button carries
    await user.press(f"fu:{followup_id}")
    await user.send_text("Yes, that is his number.")
    assert "Received" in user.last_text
    await user.send_command("withdraw", receipt_of(user))
    await user.press(user.buttons()[0][1])
    await user.press(f"fudone:{followup_id}")
    assert user.last_text == "This question is closed, so this answer was not kept."
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Attachment)) == 0


# -- consent: the UN and publication -------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
async def test_consent_questions_say_what_the_working_group_does_and_warn_before_publishing(
    harness: Harness, locale: str
) -> None:
    user = harness.user(user_id=3700, language_code="en")
    await walk_intake(user, locale=locale, persons=PERSONS[:1])
    texts = shown(user)
    question = translate(locale, BY_NAME["consent_sharing"].question)
    sharing = next(t for t in texts if t.startswith(question))
    # The warning comes with the question, before she chooses.
    assert sharing.startswith(question + "\n\n" + translate(locale, PUBLICATION_WARNING))
    question = translate(locale, BY_NAME["consent_un"].question)
    assert WORKING_GROUP[locale] in question
    un = next(t for t in texts if t.startswith(question))
    assert un.startswith(question + "\n\n" + translate(locale, UN_TRANSMISSION))
    summary = next(
        t for t in texts if t.startswith(translate(locale, "Please check your answers."))
    )
    assert translate(locale, PUBLICATION_WARNING) not in summary
    assert translate(locale, UN_TRANSMISSION) not in summary


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalog_quotes_the_words_she_sees(locale: str) -> None:
    """The sentences name the status exactly as she meets them, and the safety screen says
    what is sealed when in the welcome's own words."""
    assert translate(locale, SEALED_WHEN) in translate(locale, BY_NAME["safety"].question)
    withdrawn = translate(locale, "withdrawn")
    assert f"«{withdrawn}»" in translate(locale, REMAINS)
    for msgid in (BY_NAME["consent_un"].question, QUESTIONS["source"]):
        assert WORKING_GROUP[locale] in translate(locale, msgid)
    if locale == "kk_Arab":
        # The UN spelled out (glossary), never the unreadable letters «بۇۇ».
        catalog = (
            translate(locale, RUN_BY)
            + translate(locale, QUESTIONS_HEADING)
            + translate(locale, BY_NAME["consent_un"].question)
        )
        assert "بۇۇ" not in catalog


@pytest.mark.parametrize("locale", LOCALES)
def test_follow_ups_are_asked_for_a_possible_submission_not_by_the_un(locale: str) -> None:
    question = missing_question(locale, ["date", "source"], person=2, persons=2)
    lines = question.split("\n")
    assert lines[0] == translate(locale, QUESTIONS_HEADING)
    assert lines[1] == translate(locale, "Person {number}.").format(number=2)
    assert translate(locale, UN_TRANSMISSION) in lines
    assert not re.search(r"For the UN|Для ООН|БҰҰ үшін", question)


# -- the bot's delivery key is certified by the signing key reviewers pinned ---------------


async def _a_case_she_agreed_to_be_asked_about(harness: Harness, user_id: int) -> str:
    user = harness.user(user_id=user_id, language_code="kk")
    return await walk_intake(user, locale="kk", persons=PERSONS[:1])


async def test_no_question_is_sealed_without_a_pinned_signing_key(harness: Harness) -> None:
    from bot.reviewing.cases import Reviewer

    code = await _a_case_she_agreed_to_be_asked_about(harness, 3800)
    unpinned = Reviewer(harness.services.sessionmaker, harness.reviewer)
    with pytest.raises(ReviewError, match="AIGAQ_INBOX_FINGERPRINT"):
        await unpinned.followups.ask(code, "Anything else?")
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FollowUp)) == 0


async def test_a_swapped_delivery_key_in_the_database_is_refused_and_logged(
    harness: Harness, tmp_path: Path
) -> None:
    code = await _a_case_she_agreed_to_be_asked_about(harness, 3900)
    # His own key pair, certified by his own signing key, in the row reviewer tools read.
    attacker = DeliveryKeyring(tmp_path / "attacker")
    forged = attacker.certificate(attacker.make(utcnow()), timedelta(days=9))
    async with harness.services.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE settings SET value = :line WHERE name = 'delivery_cert'"),
            {"line": forged},
        )
    reviewer = harness.reviewer_tool()
    with pytest.raises(ReviewError, match="not by the one you pinned"):
        await reviewer.followups.ask(code, "Is his ID 654321198501011234?")
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FollowUp)) == 0
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert case.status == CaseStatus.RECEIVED
        refused = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "delivery_key.refused")
            )
        )
    assert len(refused) == 1
    detail = json.loads(refused[0].detail)
    assert attacker.fingerprint in detail["reason"]
    assert detail["pinned"] == harness.inbox_fingerprint[:16]


async def test_the_readme_threat_model_says_what_privacy_says(harness: Harness) -> None:
    from pathlib import Path

    user = harness.user(user_id=3950, language_code="en")
    await user.send_command("start")
    await user.press("lang:en")
    await user.send_command("privacy")
    privacy = user.last_text
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    threats = readme.split("## Threat model", 1)[1].split("\n## ", 1)[0]
    for privacy_says, readme_says in (
        ("sealed as soon as they arrive", "sealed to the reviewers' public keys as soon as"),
        ("which question you are at", "which question she is at"),
        ("but not your answers", "but not her answers"),
        ("Nothing on the server says which cases are yours", "Nothing on the server links an"),
        ("whether a given Telegram account has written", "whether a Telegram account wrote"),
        ("holds a document they already have", "a document they already have"),
        ("the order in which records were written", "the transaction ids of a case"),
        ("sealed with your case for our team", "sealed beside her case"),
        ("stay on Telegram's servers until you delete them", "on its servers until she deletes"),
        ("Copies in backups made earlier are not deleted", "copies in earlier backups"),
    ):
        assert privacy_says in privacy and readme_says in threats, privacy_says
    assert "sealed at once" not in readme and "holds no private key" not in readme


# -- /forget --------------------------------------------------------------------------------


async def test_forget_deletes_her_account_and_unlinks_her_cases(
    harness: Harness, database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/privacy and /forget: the record of her account goes (pseudonym, language, news,
    chat number, unsent answers); her sent cases stay, unlinked; staff are not forgotten."""
    made = _recording_server_encryption(monkeypatch)
    user = harness.user(user_id=3970, language_code="en")
    code = await walk_intake(user, locale="en", persons=PERSONS[:1])  # contact: yes
    pseudonym = harness.services.accounts.pseudonym(3970)
    await user.send_command("start")  # a new dialogue, with an answer not yet sent
    await user.press("lang:en")
    await user.press("i:safety:_continue")
    await user.press("i:relation:mother")
    await user.send_text("Aisulu Forgetkyzy")
    await user.send_command("forget")
    assert "Cases you already sent stay with the team" in user.last_text
    await user.press("forget:yes")
    assert user.last_text.startswith("Done: the bot deleted its record of your account.")
    async with harness.services.sessionmaker() as session:
        assert await session.scalar(select(Account).where(Account.pseudonym == pseudonym)) is None
        case = (await session.scalars(select(Case).where(Case.code == code))).one()
        assert case.payload is not None  # kept with the team, linked to no account
        forgotten = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "account.forgotten", AuditEntry.actor == "relative")
        )
        assert forgotten == 1
        key = harness.services.server_key
        for draft in await session.scalars(select(Draft)):
            plain = key.decrypt(draft.data, context=f"draft:{draft.kind}:{draft.name}")
            assert b"3970" not in plain and b"Forgetkyzy" not in plain
    await user.send_command("status", receipt_of(user))  # her receipt code still works
    assert user.last_text.startswith(f"Case {code}: received.")
    if not database.is_postgres:
        disk = _on_disk(database)
        assert not [sealed for plain, sealed in made if b"Forgetkyzy" in plain and sealed in disk]
    await user.send_command("start")  # she starts afresh, nothing remembered
    assert user.last_text.startswith(translate("en", "Welcome."))


async def test_staff_are_not_forgotten_by_forget(harness: Harness) -> None:
    from bot.models import Role

    await harness.services.roles.grant("cli", 3980, Role.ADMIN)
    admin = harness.user(user_id=3980, language_code="en")
    await admin.send_command("forget")
    assert "Forget you?" not in admin.last_text
    assert (await harness.services.accounts.find(3980)) is not None


async def test_deleting_the_conversation_deletes_every_message_both_ways(
    harness: Harness,
) -> None:
    """After Submit, "Delete this conversation?" removes what the bot may still delete:
    her messages and its answers, /help and /privacy included, not only the intake's."""
    user = harness.user(user_id=3990, language_code="en")
    await user.send_command("help")
    await user.send_command("privacy")
    await walk_intake(user, locale="en", persons=PERSONS[:1])
    await user.press("wipe:yes")
    left = [m for m in user.all_messages if not m.deleted]
    assert [m.shown_text for m in left] == [user.last_text]
    assert user.last_text.startswith("The conversation was deleted from this chat")
