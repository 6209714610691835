"""Export verified cases for partners: CSV (Uwazi-compatible), xlsx, JSON Lines, a signed bundle.

Runs on the reviewer's machine. Cases are opened one at a time and written out at once, so
memory stays flat however many there are. A case is never exported beyond its consent: one
consented "only the team" goes out only with `internal=True`, and the report says how many
were left out and why; a partner export, in every format, carries only what the field policy
(`disclosed()`) lets through. Every CSV cell goes through `neutralise_formula()`; every xlsx
cell is text. Documented in docs/export.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.crypto.roster import RosterError
from bot.models import Case, CaseStatus
from bot.reviewing.bundle import ROSTER_ENTRY, ExportError
from bot.reviewing.cases import Reviewer
from bot.reviewing.clean import CleaningError, working_copy
from bot.reviewing.export_csv import CSV_FIELDS, csv_rows, table_rows
from bot.reviewing.export_facts import PROVENANCE, complete, not_chosen, with_uwazi_dates
from bot.reviewing.export_policy import allowed, disclosed
from bot.reviewing.export_xlsx import write_xlsx
from bot.reviewing.roster_pin import NoRosterYet

SCHEMA = "https://aigaq.example/schemas/case-v1.json"
FORMATS = ("csv", "xlsx", "jsonl", "bundle")


@dataclass
class Report:
    exported: int = 0
    excluded_by_consent: int = 0
    unreadable: int = 0
    files: int = 0
    excluded_codes: list[str] = field(default_factory=list)
    # Cases left out because their status was not asked for (status -> count); "not verified"
    # for a partner export of verified cases.
    excluded_by_status: dict[str, int] = field(default_factory=dict)
    statuses: tuple[str, ...] = ("verified",)
    # Files a partner bundle left out because they could not be cleaned (case/uid).
    withheld_files: list[str] = field(default_factory=list)
    # What went out, for the log: the cases' codes and the SHA-256 of the file written (of a
    # bundle: of its signed manifest, which lists every file's hash).
    codes: list[str] = field(default_factory=list)
    sha256: str = ""

    def summary(self) -> str:
        """'N cases exported; M excluded: K not verified, J consent: team only' (issue 19)."""
        other = sum(self.excluded_by_status.values())
        reasons = []
        if other:
            status = "not verified" if self.statuses == ("verified",) else "of another status"
            reasons.append(f"{other} {status}")
        if self.excluded_by_consent:
            reasons.append(f"{self.excluded_by_consent} consent: team only")
        if self.unreadable:
            reasons.append(f"{self.unreadable} not readable with this key")
        excluded = other + self.excluded_by_consent + self.unreadable
        head = f"{self.exported} case{'' if self.exported == 1 else 's'} exported"
        return head + (f"; {excluded} excluded: " + ", ".join(reasons) if excluded else "")


def record(case: Case, payload: dict[str, Any], *, internal: bool = False) -> dict[str, Any]:
    """The exported form of a case (see schemas/case-v1.json)."""
    payload = disclosed(payload, internal)
    voices = {item.get("uid"): item for item in payload.get("attachments", [])}
    kept = ("uid", "kind", "size", "sha256", "mime", "name", *PROVENANCE)
    return {
        "$schema": SCHEMA,
        "schema_version": 1,
        "code": case.code,
        "status": case.status.value,
        "grade": case.grade,
        "submitted_at": payload.get("submitted_at"),
        "language": payload.get("locale"),
        "testifier": payload.get("testifier", {}),
        "detainees": [with_uwazi_dates(person) for person in payload.get("detainees", [])],
        "narrative": payload.get("narrative", []),
        "evidence": payload.get("evidence", []),
        "attachments": [
            {"uid": uid, **{name: item[name] for name in kept[1:] if name in item}}
            for uid, item in voices.items()
        ],
        "followups": payload.get("followups", []),
        "consent": payload.get("consent", {}),
    }


async def export(
    reviewer: Reviewer,
    out: Path,
    fmt: str,
    *,
    statuses: tuple[CaseStatus, ...] = (CaseStatus.VERIFIED,),
    grades: tuple[str, ...] = (),
    since: datetime | None = None,
    internal: bool = False,
    partner: str = "",
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Write the export; returns what went out, what was left out and why. The log records
    for whom (`partner`), which cases and the SHA-256 of what was written."""
    if fmt not in FORMATS:
        raise ExportError("the format is csv, xlsx, jsonl or bundle")
    report = Report(statuses=tuple(status.value for status in statuses))
    report.excluded_by_status = await not_chosen(reviewer, statuses, grades, since)
    roster = await _roster_document(reviewer) if fmt == "bundle" else None
    # The audit log's head her tools verified: a bundle says how far the log went when it
    # was made, so a later rewrite of the log before that row shows.
    async with reviewer._sessionmaker() as session:
        await reviewer.vouch.log(session)
    head = reviewer.vouch.head
    try:
        writer = _Writer(reviewer, fmt, out, internal)
    except FileExistsError:
        raise ExportError(f"{out} exists already") from None
    try:
        async for case, payload in reviewer.each(statuses=statuses, grades=grades, since=since):
            if payload is None:
                report.unreadable += 1
                continue
            if not allowed(payload, internal):
                report.excluded_by_consent += 1
                report.excluded_codes.append(case.code)
                continue
            payload = await complete(reviewer, case.code, payload)
            report.files += await writer.add(case, payload)
            report.exported += 1
            report.codes.append(case.code)
            if progress is not None:
                progress(report.exported)
        report.sha256 = writer.close(roster, head)
        report.withheld_files = writer.withheld
    except BaseException:
        writer.abort()
        raise
    await reviewer.requests.event(
        "export",
        fmt,
        exported=report.exported,
        files=report.files,
        excluded_by_consent=report.excluded_by_consent,
        excluded_by_status=report.excluded_by_status,
        unreadable=report.unreadable,
        withheld_files=len(report.withheld_files),
        partner=partner,
        cases=report.codes,
        sha256=report.sha256,
    )
    return report


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as written:
        while chunk := written.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


async def _roster_document(reviewer: Reviewer) -> str | None:
    """The signed roster her tools trust, to travel in a bundle: a partner who pinned the
    roster key then knows the signer is one of the team's reviewers."""
    pin = reviewer.team.roster_pin
    if pin is None:
        return None
    try:
        return (await pin.verified(reviewer._sessionmaker)).document
    except NoRosterYet:
        return None
    except RosterError as exc:
        raise ExportError(f"the team roster cannot be trusted: {exc}") from None


class _EphemeralSpool:
    """Lines kept aside until the end of a bundle, encrypted under a key that only this
    process ever holds: memory stays flat and no plaintext touches the disk."""

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in drain()
        self._count = 0

    def write(self, data: bytes) -> None:
        sealed = self._aead.encrypt(self._count.to_bytes(12, "big"), data, None)
        self._file.write(len(sealed).to_bytes(4, "big") + sealed)
        self._count += 1

    def drain(self) -> Iterator[bytes]:
        self._file.seek(0)
        for index in range(self._count):
            size = int.from_bytes(self._file.read(4), "big")
            yield self._aead.decrypt(index.to_bytes(12, "big"), self._file.read(size), None)
        self._file.close()


class _Writer:
    def __init__(self, reviewer: Reviewer, fmt: str, out: Path, internal: bool) -> None:
        self._reviewer = reviewer
        self._internal = internal
        self._fmt = fmt
        self._out = out
        self._zip: zipfile.ZipFile | None = None
        self._manifest: list[dict[str, Any]] = []
        if fmt == "csv":
            # UTF-8 with a BOM, so that Excel opens Kazakh letters right.
            self._file: TextIO = out.open("x", encoding="utf-8-sig", newline="")
            # Every cell quoted, as OWASP advises on top of neutralise_formula().
            self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS, quoting=csv.QUOTE_ALL)
            self._csv.writeheader()
        elif fmt == "jsonl":
            self._file = out.open("x", encoding="utf-8")
        elif fmt == "xlsx":
            self._sheet: BinaryIO = out.open("xb")
            # The rows wait, encrypted, until the end: openpyxl writes a sheet in one go.
            self._lines = _EphemeralSpool()
        else:
            self._zip = zipfile.ZipFile(out, "x", compression=zipfile.ZIP_DEFLATED)
            # A zip takes one entry at a time: the lines wait, encrypted, until the files are in.
            self._lines = _EphemeralSpool()
            self._jsonl_hash = hashlib.sha256()
            self._jsonl_size = 0
            self._seen: set[str] = set()
        self.withheld: list[str] = []

    async def add(self, case: Case, payload: dict[str, Any]) -> int:
        if self._fmt == "csv":
            for row in csv_rows(case, payload, internal=self._internal):
                self._csv.writerow(row)
            return 0
        if self._fmt == "xlsx":
            for row in table_rows(case, payload, internal=self._internal):
                self._lines.write(json.dumps(list(row.values()), ensure_ascii=False).encode())
            return 0
        line = json.dumps(record(case, payload, internal=self._internal), ensure_ascii=False)
        line += "\n"
        if self._fmt == "jsonl":
            self._file.write(line)
            return 0
        data = line.encode()
        self._lines.write(data)
        self._jsonl_hash.update(data)
        self._jsonl_size += len(data)
        added = 0
        assert self._zip is not None  # noqa: S101
        for item in disclosed(payload, self._internal)["attachments"]:
            digest = str(item.get("sha256"))
            if digest in self._seen:
                continue
            name = f"files/{digest}"
            # Photos, audio and video are compressed already: stored as they are, faster.
            entry = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
            entry.compress_type = zipfile.ZIP_STORED
            reader = self._reviewer.attachment(str(item["uid"]))
            if not self._internal:
                # A partner gets a working copy without metadata (bot/reviewing/clean.py),
                # typed from its bytes; a file that cannot be cleaned stays with the team.
                original = await reader.read()
                if hashlib.sha256(original).hexdigest() != digest:
                    raise ExportError(f"attachment of {case.code} does not match its SHA-256")
                try:
                    copy = working_copy(original)
                except CleaningError:
                    self.withheld.append(f"{case.code}/{item['uid']}")
                    continue
                del original
                self._zip.writestr(entry, copy)
                shown, size = hashlib.sha256(copy).hexdigest(), len(copy)
            else:
                check, size = hashlib.sha256(), 0
                with self._zip.open(entry, "w", force_zip64=True) as target:
                    async for part in reader.stream():
                        target.write(part)
                        check.update(part)
                        size += len(part)
                if check.hexdigest() != digest:
                    raise ExportError(f"attachment of {case.code} does not match its SHA-256")
                shown = digest
            self._seen.add(digest)
            # Both hashes: what is in the bundle, and the sealed original it was made from.
            provenance = {key: item[key] for key in PROVENANCE if key in item}
            self._manifest.append(
                {"path": name, "sha256": shown, "size": size, "original_sha256": digest}
                | ({"provenance": provenance} if provenance else {})
            )
            added += 1
        return added

    def close(self, roster: str | None = None, head: tuple[int, str] | None = None) -> str:
        """Finish the file; returns the SHA-256 of what identifies it (a bundle's manifest)."""
        if self._fmt == "xlsx":
            write_xlsx(self._sheet, CSV_FIELDS, (json.loads(row) for row in self._lines.drain()))
            self._sheet.close()
            return _file_sha256(self._out)
        if self._zip is None:
            self._file.close()
            return _file_sha256(self._out)
        with self._zip.open("cases.jsonl", "w", force_zip64=True) as target:
            for line in self._lines.drain():
                target.write(line)
        files = [
            {
                "path": "cases.jsonl",
                "sha256": self._jsonl_hash.hexdigest(),
                "size": self._jsonl_size,
            },
            *self._manifest,
        ]
        if roster is not None:
            data = roster.encode()
            self._zip.writestr(ROSTER_ENTRY, data)
            files.append(
                {
                    "path": ROSTER_ENTRY,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            )
        manifest = json.dumps(
            {
                "format": "aigaq-bundle-v1",
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "signer": self._reviewer.key.signing_public_hex(),
                "audit_head": {"row": head[0], "sha256": head[1]} if head else None,
                "files": files,
            },
            ensure_ascii=False,
            indent=2,
        ).encode()
        self._zip.writestr("manifest.json", manifest)
        digest = hashlib.sha256(manifest).hexdigest()
        self._zip.writestr("manifest.sig", self._reviewer.key.signing_key().sign(manifest).hex())
        self._zip.close()
        return digest

    def abort(self) -> None:
        try:
            if self._zip is not None:
                self._zip.close()
            elif self._fmt == "xlsx":
                self._sheet.close()
            else:
                self._file.close()
        finally:
            self._out.unlink(missing_ok=True)
