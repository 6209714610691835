"""Sealed, verified cases for export tests, and an export read back as bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from bot.models import CaseStatus
from bot.reviewing.cases import Reviewer
from bot.reviewing.export import Report, export
from tests.harness import Harness
from tests.scenario import Consent
from tests.test_intake_dialogue import PERSONS, walk_intake

CONSENTS = ("team", "organisations", "publish_anonymous", "publish_named")
FORMATS = ("csv", "jsonl", "bundle")


def reviewer_of(harness: Harness) -> Reviewer:
    """Her tools with the bot's delivery signing key pinned: a decision on a case whose
    relative agreed to contact seals her notice to the bot's certified delivery key."""
    return harness.reviewer_tool()


async def walk_with_consent(harness: Harness, user_id: int, sharing: str) -> str:
    """The whole dialogue with this sharing consent and every UN consent given (her name to
    the Working Group included); the case verified. Returns its code."""
    user = harness.user(user_id=user_id, language_code="ru")
    consent = Consent(sharing=sharing, un_name="yes")
    code = await walk_intake(user, locale="ru", persons=PERSONS[:1], consent=consent)
    await reviewer_of(harness).decisions.set_status(code, CaseStatus.VERIFIED)
    return code


async def seal_draft(harness: Harness, user_id: int, draft: dict[str, Any]) -> str:
    """Seal a draft as the bot does on Submit, without the dialogue's checks; verify it."""
    submitted = await harness.services.cases.submit(user_id, user_id, draft, "en")
    await reviewer_of(harness).decisions.set_status(submitted.code, CaseStatus.VERIFIED)
    return str(submitted.code)


async def exported(
    harness: Harness, out: Path, fmt: str, *, internal: bool
) -> tuple[Report, bytes]:
    """Export, and every byte a partner would read (see read_back)."""
    report = await export(reviewer_of(harness), out, fmt, internal=internal)
    return report, read_back(out, fmt)


def read_back(out: Path, fmt: str) -> bytes:
    """The file as written, or every file in the bundle, decompressed."""
    if fmt != "bundle":
        return out.read_bytes()
    with zipfile.ZipFile(out) as bundle:
        return b"\n".join(bundle.read(name) for name in bundle.namelist())
