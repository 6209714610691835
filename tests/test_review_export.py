"""A reviewer reads, decides, finds duplicates and exports; the relative hears the outcome."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select

from bot.models import AuditEntry, CaseStatus
from bot.reviewing.bundle import ExportError, verify_bundle, who_signed
from bot.reviewing.cases import Reviewer, ReviewError
from bot.reviewing.export import CSV_FIELDS, export
from bot.reviewing.keys import ReviewerKey
from handlers.cases import deliver_notices
from tests.harness import Harness
from tests.scenario import Consent, withdraw
from tests.test_intake_dialogue import PDF, PERSONS, PHOTO_1, PHOTO_2, walk_intake

LATIN = dict(PERSONS[0], name="Erlan Nurgaliuly", alt=None)


async def two_cases(harness: Harness) -> tuple[Any, str, str]:
    mother = harness.user(user_id=7000, language_code="ru")
    first = await walk_intake(mother, locale="ru", persons=PERSONS[:1])
    sister = harness.user(user_id=7001, language_code="en")
    second = await walk_intake(sister, locale="en", persons=[LATIN])
    return mother, first, second


async def test_read_decide_and_the_relative_is_told(harness: Harness) -> None:
    mother, first, second = await two_cases(harness)
    reviewer = harness.reviewer_tool()
    queue = {item.code: item for item in await reviewer.queue()}
    assert set(queue) == {first, second}
    assert queue[first].duplicate and queue[second].duplicate
    opened = await reviewer.show(first)
    assert opened.payload["detainees"][0]["name"] == "Ерлан Нұрғалиұлы"
    files = [await reviewer.attachment(a["uid"]).read() for a in opened.payload["evidence"]]
    assert files == [PHOTO_1, PHOTO_2, PDF]
    await reviewer.decisions.set_status(
        first, CaseStatus.VERIFIED, grade="corroborated", note="Matches the list from the Ili camp"
    )
    again = await reviewer.show(first)
    assert again.status == CaseStatus.VERIFIED and again.grade == "corroborated"
    assert again.notes[-1]["note"] == "Matches the list from the Ili camp"
    assert await deliver_notices(harness.app) == 1  # type: ignore[arg-type]
    assert mother.last_text == f"Дело {first}: подтверждено."
    with pytest.raises(ReviewError):
        await reviewer.decisions.set_status(first, CaseStatus.VERIFIED, grade="very sure")
    await withdraw(mother, first)
    with pytest.raises(ReviewError, match="withdrawn"):
        await reviewer.show(first)


async def test_duplicates_across_scripts_search_and_link(harness: Harness) -> None:
    _mother, first, second = await two_cases(harness)
    reviewer = harness.reviewer_tool()
    pairs = await reviewer.duplicates.find()
    assert (min(first, second), max(first, second), "same name") in pairs
    assert set(await reviewer.duplicates.search("ЕРЛАН нұрғалиұлы")) == {first, second}
    await reviewer.decisions.link(second, first)
    assert (await reviewer.show(second)).duplicate_of == first
    with pytest.raises(ReviewError):
        await reviewer.decisions.link(first, first)


async def test_exports_respect_consent_and_the_bundle_verifies(
    harness: Harness, tmp_path: Path
) -> None:
    _mother, first, second = await two_cases(harness)
    reviewer = harness.reviewer_tool()
    for code in (first, second):
        await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    # The second one was consented "organisations" by walk_intake; make the first team-only.
    async with harness.services.sessionmaker() as session, session.begin():
        from sqlalchemy import update

        from bot.models import Case

        await session.execute(update(Case).where(Case.code == first).values(consent_sharing="team"))
    table = tmp_path / "cases.csv"
    report = await export(reviewer, table, "csv")
    assert report.exported == 2  # consent lives in the sealed payload: both said organisations
    raw = table.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(table.open(encoding="utf-8-sig")))
    assert list(rows[0]) == CSV_FIELDS
    assert {row["title"] for row in rows} == {"Ерлан Нұрғалиұлы", "Erlan Nurgaliuly"}
    assert rows[0]["status__kk"] == "«Қайта тәрбиелеу» лагерінде"
    assert rows[0]["status__en"] == "In a «re-education» camp"
    lines = tmp_path / "cases.jsonl"
    await export(reviewer, lines, "jsonl")
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [r["schema_version"] for r in records] == [1, 1]
    schema = json.loads((Path(__file__).parent.parent / "schemas/case-v1.json").read_text())
    for item in records:
        jsonschema.validate(item, schema)
    bundle = tmp_path / "bundle.zip"
    report = await export(reviewer, bundle, "bundle", partner="Xinjiang Victims Database")
    # The log records for whom, which cases, and the signed manifest that lists every file.
    with zipfile.ZipFile(bundle) as made:
        manifest_sha256 = hashlib.sha256(made.read("manifest.json")).hexdigest()
    async with harness.services.sessionmaker() as session:
        detail = json.loads(
            (
                await session.scalars(
                    select(AuditEntry.detail)
                    .where(AuditEntry.action == "export", AuditEntry.target == "bundle")
                    .order_by(AuditEntry.id.desc())
                )
            ).first()
            or "{}"
        )
    assert detail["partner"] == "Xinjiang Victims Database"
    assert sorted(detail["cases"]) == sorted(report.codes) and len(report.codes) == 2
    assert detail["sha256"] == manifest_sha256 == report.sha256
    assert report.files == 3  # both cases carry the same photos: stored once, by SHA-256
    assert verify_bundle(bundle, harness.reviewer.signing_public_hex()) == 5  # roster too
    with pytest.raises(ExportError, match="another key"):
        verify_bundle(bundle, "00" * 32)
    # A partner who pinned the team's roster key learns which reviewer signed it; with any
    # other roster key, or a bundle signed by someone outside the roster, it is UNTRUSTED.
    assert who_signed(bundle, harness.settings.roster_key).startswith("reviewer ")
    # It carries the audit log's head her tools verified when it was made.
    with zipfile.ZipFile(bundle) as made:
        head = json.loads(made.read("manifest.json"))["audit_head"]
    async with harness.services.sessionmaker() as session:
        row = await session.get(AuditEntry, head["row"])
    assert row is not None and row.hash == head["sha256"]
    with pytest.raises(ExportError, match="UNTRUSTED"):
        who_signed(bundle, "ab" * 32)
    outsider = Reviewer(
        harness.services.sessionmaker,
        ReviewerKey.generate(),
        roster_pin=harness.roster_pin(harness.reviewer),
        intake_fingerprint=harness.intake_fingerprint,
    )
    foreign = tmp_path / "foreign.zip"
    await export(outsider, foreign, "bundle")
    verify_bundle(foreign)  # its signature holds ...
    with pytest.raises(ExportError, match=r"UNTRUSTED.*does not list"):
        who_signed(foreign, harness.settings.roster_key)  # ... but the roster names no signer
    with pytest.raises(ExportError, match="exists already"):
        await export(reviewer, bundle, "bundle")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("files/") and not target.namelist()[1:]:
                data = data[:-1] + b"!"
            target.writestr(item, data)
    with pytest.raises(ExportError, match="does not match"):
        verify_bundle(tampered)


async def test_team_only_cases_stay_out_of_partner_exports(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=7100, language_code="kk")
    # The same walk, but "only the team" at the sharing question.
    code = await walk_intake(
        user, locale="kk", persons=PERSONS[:1], consent=Consent(sharing="team")
    )
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    report = await export(reviewer, tmp_path / "partners.jsonl", "jsonl")
    assert (report.exported, report.excluded_by_consent, report.excluded_codes) == (0, 1, [code])
    report = await export(reviewer, tmp_path / "team.jsonl", "jsonl", internal=True)
    assert report.exported == 1
