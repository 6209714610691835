"""Follow-up questions: asked in her language, sealed to the team, sent through the bot's
certified delivery key; her answers; what the UN elements still lack."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.crypto.intake import sign_anchor
from bot.crypto.requests import b64
from bot.models import Attachment, CaseStatus, FollowUp
from bot.reviewing.cases import ReviewError
from bot.reviewing.opening import open_object
from bot.reviewing.requests import sealed_to
from bot.services import audit
from bot.services.followups import new_token, token_hash

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer
    from bot.reviewing.un import Readiness


class FollowUps:
    """Questions to the relative who testified, only where she agreed to be contacted."""

    def __init__(self, reviewer: Reviewer) -> None:
        self._reviewer = reviewer

    async def ask(
        self,
        code: str,
        question: str,
        *,
        elements: tuple[str, ...] = (),
        person: int | None = None,
        numbered: bool = True,
    ) -> str:
        """Queue a follow-up question; only where she agreed to be contacted. The question is
        sealed to the team; its delivery (her chat from her sealed contact, the text and the
        answer button's token) to the bot's certified delivery key only. `person` (1-based):
        the detained person it is about, named to her by number, never by name."""
        question = question.strip()
        if not question:
            raise ReviewError("the question is empty")
        if person is not None and numbered:
            question = await self._about_person(code, question, person)
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            if case.status == CaseStatus.WITHDRAWN or not case.consent_contact:
                raise ReviewError(
                    f"case {case.code}: the relative did not agree to follow-up questions"
                )
            if case.contact is None:
                raise ReviewError(
                    f"case {case.code}: no contact is kept for the relative, so no question "
                    "can reach her"
                )
        # The delivery key is checked (and a refusal reported) before anything is made.
        delivery_key = await self._reviewer.contact.delivery_key()
        team = await self._reviewer.team.holders(f"a question on case {case.code}")
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            contact = await self._reviewer.contact.of(session, case)
        if contact is None or case.status == CaseStatus.WITHDRAWN:
            raise ReviewError(f"case {case.code}: the relative can no longer be asked")
        uid = secrets.token_hex(16)
        sealed, keys = sealed_to(team, "question", uid, question.encode())
        token = new_token()
        body = {
            "case": case.code,
            "uid": uid,
            "sealed": b64(sealed),
            "keys": keys,
            "elements": list(elements),
            "person": person,
            "token_hash": token_hash(token),
            "anchor": sign_anchor(
                self._reviewer.key.signing_key(), "question", uid, case.code, audit.anchor(sealed)
            ),
            "delivery": self._reviewer.contact.message(
                contact, delivery_key, {"code": case.code, "text": question, "token": token}
            ),
        }
        return await self._reviewer.requests.submit("question", body)

    async def ask_missing(self, code: str, person: int = 1) -> list[str]:
        """One follow-up question, in her language, for the elements a person still lacks."""
        from bot.reviewing.un import missing_question, readiness, submitting_organisation

        opened = await self._reviewer.opened(code)
        items = readiness(opened.payload, await submitting_organisation(self._reviewer))
        if not 1 <= person <= len(items):
            raise ReviewError(f"case {code} has {len(items)} detained person(s)")
        missing = items[person - 1].missing
        if not missing:
            return []
        locale = str(opened.payload.get("locale") or "kk")
        question = missing_question(locale, missing, person, len(items))
        await self.ask(code, question, elements=tuple(missing), person=person, numbered=False)
        return missing

    async def _about_person(self, code: str, question: str, person: int) -> str:
        """The question as she reads it: which person, by number, in her language."""
        from bot.i18n import translate

        opened = await self._reviewer.opened(code)
        people = len(opened.payload.get("detainees", []))
        if not 1 <= person <= people:
            raise ReviewError(f"case {code} has {people} detained person(s)")
        if people < 2:
            return question
        locale = str(opened.payload.get("locale") or "kk")
        return translate(locale, "Person {number}.").format(number=person) + "\n" + question

    async def confirm(
        self, code: str, question: str, elements: tuple[str, ...], *, person: int | None = None
    ) -> str:
        """Confirm which UN elements her answer to a question (its uid) gives, for its person;
        a question asked before questions named a person is assigned to `person` here. Only
        confirmed elements count in readiness (an empty tuple: it gives none, as "I don't
        know"). The bot checks and writes it (a signed `confirm` request)."""
        from bot.reviewing.un import ELEMENT_LABELS

        unknown = set(elements) - set(ELEMENT_LABELS)
        if unknown:
            raise ReviewError(f"no such UN element: {', '.join(sorted(unknown))}")
        body = {"case": code.upper(), "followup": question, "elements": list(elements)}
        return await self._reviewer.requests.submit("confirm", body | {"person": person})

    async def readiness(
        self, code: str, person: int | None = None
    ) -> tuple[list[Readiness], list[str]]:
        """The six elements per person — an element counts as given from a follow-up only
        where a reviewer confirmed that her answer gives it, for that person — and the text
        of her written answers: about `person`, those confirmed to give an element; all of
        them when None."""
        from bot.reviewing.un import PRESENT, readiness, submitting_organisation

        opened = await self._reviewer.opened(code)
        items = readiness(opened.payload, await submitting_organisation(self._reviewer))
        texts = []
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            followups = list(
                await session.scalars(
                    select(FollowUp)
                    .where(FollowUp.case_id == case.id, FollowUp.state == "answered")
                    .order_by(FollowUp.id)
                )
            )
            # A person's draft carries only answers a reviewer confirmed give something.
            mine = [
                f.id
                for f in followups
                if person is None or (f.person, bool(f.confirmed)) == (person, True)
            ]
            answers = list(
                await session.execute(
                    select(Attachment.uid, Attachment.kind)
                    .where(Attachment.followup_id.in_(mine))
                    .order_by(Attachment.id)
                )
            )
        for uid, kind in answers:
            if kind == "text":
                texts.append((await self._reviewer.attachment(uid).read()).decode())
        for followup in followups:
            if followup.person is None or not 1 <= followup.person <= len(items):
                continue  # unassigned: a reviewer assigns it when she confirms it
            item = items[followup.person - 1]
            for name in set(filter(None, followup.confirmed.split(","))) & set(item.elements):
                item.elements[name] = PRESENT
        return items, texts

    async def ready_for_wgeid(self) -> set[str]:
        """Codes of cases where every person has all six elements (decrypted here)."""
        ready = set()
        for case, _payload in await self._reviewer.readable():
            items, _texts = await self.readiness(case.code)
            if items and all(item.ready for item in items):
                ready.add(case.code)
        return ready

    async def of(self, code: str) -> list[dict[str, Any]]:
        """Questions asked about a case, and her answers (attachment uids and kinds)."""
        async with self._reviewer._sessionmaker() as session:
            case = await self._reviewer._case(session, code)
            found = []
            for followup in await session.scalars(
                select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)
            ):
                await self._reviewer.vouch.sealed(
                    session,
                    case,
                    "question",
                    followup.uid,
                    followup.sealed_question,
                    followup.created_at,
                )
                question = (
                    await open_object(
                        session,
                        self._reviewer.key,
                        "question",
                        followup.uid,
                        followup.sealed_question,
                        name=f"the question of {followup.created_at:%Y-%m-%d} on case "
                        f"{case.code} (by {followup.asked_by}, question {followup.uid})",
                    )
                ).decode()
                given = list(
                    await session.execute(
                        select(Attachment.uid, Attachment.kind, Attachment.record)
                        .where(Attachment.followup_id == followup.id)
                        .order_by(Attachment.id)
                    )
                )
                await self._reviewer.vouch.answers(
                    session,
                    case,
                    followup.uid,
                    [(uid, record) for uid, _kind, record in given],
                    followup.answered_at,
                )
                answers = [{"uid": uid, "kind": kind} for uid, kind, _record in given]
                found.append(
                    {
                        "uid": followup.uid,
                        "question": question,
                        "person": followup.person,  # None: unassigned (asked before)
                        "elements": [e for e in followup.elements.split(",") if e],
                        "confirmed": [e for e in followup.confirmed.split(",") if e],
                        "state": followup.state,
                        "asked_at": followup.created_at.isoformat(),
                        "answers": answers,
                    }
                )
            return found
