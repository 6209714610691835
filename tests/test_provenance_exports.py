"""Evidence keeps its provenance and exports carry everything (issue 18, items 5 and 6), and a
partner export says why cases are missing (issue 19).

A forwarded document keeps who forwarded it and when, its caption, name, declared type and the
message's date, sealed in its record; reviewers see it, partners never (the policy's rows); the
bundle manifest lists it per file; a photo is followed once by "send it as a file too". The
follow-ups (question, day, person, answers with hashes, confirmed elements) are in every format.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from bot.models import CaseStatus
from bot.reviewing.console.app import create_app
from bot.reviewing.export import export
from bot.reviewing.pins import Pins
from handlers.followup import deliver_questions
from tests.harness import Harness
from tests.scenario import CODE, PERSONS, PHOTO_1, Consent, walk_intake
from tests.test_console import a_case
from tests.test_console_hardening import client_for, unlocked

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas/case-v1.json").read_text())
NOTICE = b"%PDF-1.4\n" + b"detention notice of the county police " * 200
ANSWER_FILE = b"%PDF-1.4\n" + b"his household register " * 200
COUSIN = "Cousin in Ghulja"
PHOTO_TIP = "send it as a file"


async def forward_document(user: Any, data: bytes, *, caption: str, origin: dict[str, Any]) -> None:
    """A document she forwards from another chat, as Telegram delivers it."""
    stored = user.api.register_file(data, kind="document", file_name="notice.pdf")
    about = {"file_name": "notice.pdf", "mime_type": "application/pdf"}
    message = user.api.add_message(
        user.chat_id,
        from_bot=False,
        text=None,
        caption=caption,
        media="document",
        file_id=stored.file_id,
        content={"document": stored.as_json() | about},
    )
    data_json = user.api.message_json(message, sender=user.as_user())
    await user._deliver({"message": data_json | {"forward_origin": origin}})


async def a_case_with_provenance(harness: Harness) -> tuple[Any, str]:
    """Photos (the tip once, after the first), a forwarded detention notice, then Submit."""
    user = harness.user(user_id=9300, language_code="en")
    await walk_intake(user, locale="en", persons=PERSONS[:1], submit=False)
    told = [m.text for m in user.messages if PHOTO_TIP in (m.text or "")]
    assert len(told) == 1 and told[0].startswith("Photo 1 received.")  # type: ignore[union-attr]
    await user.press("i:summary:edit:evidence")
    await user.send_photo(PHOTO_1)
    assert PHOTO_TIP not in user.last_text  # told once
    origin = {"type": "hidden_user", "sender_user_name": COUSIN, "date": 1526083200}
    await forward_document(user, NOTICE, caption="the notice my cousin sent", origin=origin)
    await user.press("i:evidence:_done")
    await user.press("i:summary:submit")
    found = [m.group(0) for m in map(CODE.search, (m.text or "" for m in user.messages)) if m]
    return user, found[-1]


async def test_a_forwarded_document_keeps_its_origin_for_reviewers_only(
    harness: Harness, tmp_path: Path
) -> None:
    _user, code = await a_case_with_provenance(harness)
    reviewer = harness.reviewer_tool()
    files = (await reviewer.show(code)).payload["attachments"]
    notice = next(f for f in files if f["sha256"] == hashlib.sha256(NOTICE).hexdigest())
    record = await reviewer.attachment(notice["uid"]).record()
    assert record.forwarded_from == f"user {COUSIN} (hidden account)"
    assert record.forwarded_at == "2018-05-12T00:00:00+00:00"
    assert record.caption == "the notice my cousin sent" and record.name == "notice.pdf"
    assert record.declared_mime == "application/pdf" and record.sent_at
    async with harness.services.sessionmaker() as session:
        from sqlalchemy import select

        from bot.models import Attachment

        sealed = list(await session.scalars(select(Attachment.record)))
    assert not any(COUSIN.encode() in (row or b"") for row in sealed)

    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    team = tmp_path / "team.zip"
    await export(reviewer, team, "bundle", internal=True)
    with zipfile.ZipFile(team) as made:
        manifest = json.loads(made.read("manifest.json"))
    listed = {f.get("original_sha256"): f for f in manifest["files"]}
    assert listed[hashlib.sha256(NOTICE).hexdigest()]["provenance"]["forwarded_from"] == (
        f"user {COUSIN} (hidden account)"
    )
    partner = tmp_path / "partner.zip"
    await export(reviewer, partner, "bundle", partner="Partner")
    with zipfile.ZipFile(partner) as made:
        everything = b"".join(made.read(name) for name in made.namelist())
        manifest = json.loads(made.read("manifest.json"))
    assert COUSIN.encode() not in everything and b"my cousin" not in everything
    assert all("provenance" not in f for f in manifest["files"])
    rows = tmp_path / "team.csv"
    await export(reviewer, rows, "csv", internal=True)
    with rows.open(encoding="utf-8-sig", newline="") as table:
        [row] = list(csv.DictReader(table))
    assert COUSIN in row["attachments_provenance"]


async def test_follow_ups_are_in_every_export_with_hashes_and_confirmed_elements(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=9400, language_code="en")
    code = await walk_intake(
        user, locale="en", persons=PERSONS, consent=Consent(contact="yes", sharing="organisations")
    )
    reviewer = harness.reviewer_tool()
    await reviewer.followups.ask(
        code, "Do you have his household register?", person=2, elements=("identity",)
    )
    assert await deliver_questions(harness.app) == 1  # type: ignore[arg-type]
    for message in reversed(user.all_messages):
        pressed = [d for _t, d in user.buttons(message) if d.startswith("fu:")]
        if pressed:
            await user.press(pressed[0])
            break
    await user.send_text("Yes, here it is.")
    await user.send_document(ANSWER_FILE, file_name="hukou.pdf", mime_type="application/pdf")
    for message in reversed(user.all_messages):
        pressed = [d for _t, d in user.buttons(message) if d.startswith("fudone:")]
        if pressed:
            await user.press(pressed[0])
            break
    [asked] = await reviewer.followups.of(code)
    await reviewer.followups.confirm(code, asked["uid"], ("identity",), person=2)
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)

    lines = tmp_path / "cases.jsonl"
    await export(reviewer, lines, "jsonl", internal=True)
    [line] = [json.loads(row) for row in lines.read_text().splitlines()]
    jsonschema.validate(line, SCHEMA)
    [followup] = line["followups"]
    assert followup["question"].endswith("Do you have his household register?")
    assert followup["person"] == 2 and followup["confirmed"] == ["identity"]
    assert len(followup["asked_on"]) == 10
    texts = [a.get("text") for a in followup["answers"]]
    assert "Yes, here it is." in texts
    digest = hashlib.sha256(ANSWER_FILE).hexdigest()
    assert digest in [a.get("sha256") for a in followup["answers"]]

    table = tmp_path / "cases.csv"
    await export(reviewer, table, "csv", internal=True)
    with table.open(encoding="utf-8-sig", newline="") as read:
        first, second = list(csv.DictReader(read))
    assert first["followups"] == ""  # his father's question is not about him
    assert "household register" in second["followups"] and digest in second["followups"]
    assert second["followups_confirmed"] == "identity"

    bundle = tmp_path / "team.zip"  # (a partner's gets clean copies: this fake PDF has none)
    await export(reviewer, bundle, "bundle", internal=True)
    with zipfile.ZipFile(bundle) as made:
        manifest = json.loads(made.read("manifest.json"))
    assert digest in {f.get("original_sha256") for f in manifest["files"]}


async def test_a_kk_arab_case_exports_valid_against_the_schema(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=9500, language_code="kk")
    code = await walk_intake(user, locale="kk_Arab", persons=PERSONS[:1])
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    out = tmp_path / "cases.jsonl"
    await export(reviewer, out, "jsonl", internal=True)
    [line] = [json.loads(row) for row in out.read_text().splitlines()]
    jsonschema.validate(line, SCHEMA)
    assert line["language"] == "kk_Arab"
    assert line["detainees"][0]["detained"]["uwazi"] == "2018-05-01:2018-05-31"


async def test_a_partner_export_says_why_cases_are_missing(
    harness: Harness, tmp_path: Path
) -> None:
    mother = harness.user(user_id=9600, language_code="en")
    verified = await walk_intake(mother, locale="en", persons=PERSONS[:1])
    sister = harness.user(user_id=9601, language_code="en")
    await walk_intake(sister, locale="en", persons=PERSONS[1:])  # still in review
    brother = harness.user(user_id=9602, language_code="en")
    team_only = await walk_intake(
        brother, locale="en", persons=PERSONS[:1], consent=Consent(sharing="team")
    )
    reviewer = harness.reviewer_tool()
    for code in (verified, team_only):
        await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    report = await export(reviewer, tmp_path / "partner.csv", "csv", partner="Partner")
    assert report.summary() == "1 case exported; 2 excluded: 1 not verified, 1 consent: team only"

    await reviewer.decisions.set_status(verified, CaseStatus.NEEDS_INFO)
    nothing = await export(reviewer, tmp_path / "none.csv", "csv")
    assert nothing.summary() == "0 cases exported; 3 excluded: 2 not verified, 1 consent: team only"


async def test_the_console_says_why_an_export_is_empty(harness: Harness, tmp_path: Path) -> None:
    _code, key_file = await a_case(harness, tmp_path)  # received, not verified
    app = create_app(
        harness.services.sessionmaker,
        key_file,
        pins=Pins(inbox_fingerprint=harness.inbox_fingerprint),
    )
    client: httpx.AsyncClient
    async with client_for(app) as client:
        csrf = await unlocked(client)
        answer = await client.post("/export", data={"csrf": csrf, "format": "csv"})
        assert "attachment" not in answer.headers.get("content-disposition", "")
        assert "0 cases exported; 1 excluded: 1 not verified" in answer.text
