"""The one-time step that gives what was sealed before signed anchors an anchor of its own.

Since this step the log anchors every case at Submit, every note and question a reviewer
writes, and every set of answers, each with a signature by a key reviewer tools pin (the
bot's intake key, or the reviewer's own). What was sealed before has no such anchor, so at
the first start of this version the bot signs one for each case, note, question and set of
answers the database holds (audit action `anchor.attested`) and remembers, in a file beside
its intake key (never the database), that it did: from then on an object without a signed
anchor was put into the database by someone else, and reviewer tools refuse it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto.intake import IntakeSigner
from bot.models import Attachment, Case, CaseNote, FollowUp, FollowUpState
from bot.services import audit

log = logging.getLogger(__name__)
ATTESTED = "anchor.attested"


def answers_digest(given: list[tuple[str, bytes | None]]) -> str:
    """The anchor of a question's answers: their uids and sealed records, in uid order."""
    return audit.anchor(b"".join(uid.encode() + (record or b"") for uid, record in sorted(given)))


async def attest_earlier(
    sessionmaker: async_sessionmaker[AsyncSession], signer: IntakeSigner, done: Path
) -> int:
    """Sign an anchor for everything sealed before signed anchors; once per server."""
    if _marked(done):
        return 0
    count = 0
    async with sessionmaker() as session, session.begin():
        cases = {case.id: case for case in await session.scalars(select(Case))}

        async def attest(kind: str, uid: str, case_id: int, sealed_digest: str) -> None:
            nonlocal count
            code = cases[case_id].code
            await audit.record(
                session,
                actor="bot",
                action=ATTESTED,
                target=code,
                detail={"sealed": sealed_digest}
                | signer.sign_anchor(kind, uid, code, sealed_digest),
            )
            count += 1

        for case in cases.values():
            if case.payload is not None:
                await attest("case", case.uid, case.id, audit.anchor(case.payload))
        for note in await session.scalars(select(CaseNote)):
            if note.sealed_note is not None:
                await attest("note", note.uid, note.case_id, audit.anchor(note.sealed_note))
        for question in await session.scalars(select(FollowUp)):
            await attest(
                "question", question.uid, question.case_id, audit.anchor(question.sealed_question)
            )
            if question.state == FollowUpState.ANSWERED:
                given = await session.execute(
                    select(Attachment.uid, Attachment.record).where(
                        Attachment.followup_id == question.id
                    )
                )
                await attest("answer", question.uid, question.case_id, answers_digest(list(given)))
    _mark(done, count)
    if count:
        log.info("signed anchors for %d objects sealed before anchors were signed", count)
    return count


def _marked(done: Path) -> bool:
    return done.exists()


def _mark(done: Path, count: int) -> None:
    done.write_text(f"anchors attested: {count}\n", encoding="utf-8")
