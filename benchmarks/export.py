"""Export throughput and memory: synthetic sealed cases, opened and written by a reviewer.

    .venv/bin/python benchmarks/export.py [--cases 10000] [--bundle-cases 300]

Prints cases/s and peak RSS for CSV, JSON Lines and the signed bundle (each bundle case
carries a 1 MB attachment), and the reviewer's decrypt throughput beside raw AES-256-GCM
over the same bytes, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert

from bot import db
from bot.crypto import StreamSealer, seal
from bot.file_record import FileRecord
from bot.models import Attachment, AttachmentChunk, Case, CaseStatus, Recipient, SealedKey
from bot.reviewing.cases import Reviewer
from bot.reviewing.export import export
from bot.reviewing.keys import ReviewerKey

FILE = os.urandom(1024 * 1024)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def payload(code: str, files: list[dict[str, object]]) -> bytes:
    person = {
        "name": f"Ерлан {code}",
        "birth_year": {"year": 1980, "precision": "year"},
        "hometown": "ili",
        "status": "camp",
        "detained": {"year": 2018, "precision": "year"},
    }
    return json.dumps(
        {
            "schema_version": 1,
            "code": code,
            "locale": "kk",
            "submitted_at": "2026-11-23T10:00:00",
            "testifier": {"relation": "mother"},
            "detainees": [person],
            "narrative": [{"text": "Менің ұлым 2018 жылы ұсталды. " * 40}],
            "evidence": [{"uid": f["uid"], "kind": "photo"} for f in files],
            "attachments": files,
            "consent": {"contact": False, "sharing": "organisations", "subscribe": False},
        },
        ensure_ascii=False,
    ).encode()


async def fill(url: str, key: ReviewerKey, count: int, with_files: bool) -> None:
    await db.upgrade(url)
    engine = db.create_engine(url)
    public = key.public()
    async with engine.begin() as connection:
        recipient = (
            await connection.execute(
                insert(Recipient)
                .values(
                    key_id=key.key_id,
                    suite=key.suite,
                    public_key=public.public_bytes,
                    label="bench",
                    active=True,
                    added_at=db_now(),
                )
                .returning(Recipient.id)
            )
        ).scalar_one()
        for number in range(count):
            code = f"B{number:03d}-{secrets.token_hex(2).upper()}"
            uid = secrets.token_hex(16)
            files = []
            if with_files:
                file_uid = secrets.token_hex(16)
                sealer = StreamSealer([public], object_id=file_uid, kind="attachment")
                unique = number.to_bytes(8, "big") + FILE[8:]  # no two cases share a file
                chunks = list(sealer.seal_chunks(io.BytesIO(unique)))
                attachment_id = (
                    await connection.execute(
                        insert(Attachment)
                        .values(
                            uid=file_uid,
                            kind="photo",
                            header=sealer.header(),
                            created_at=db_now(),
                        )
                        .returning(Attachment.id)
                    )
                ).scalar_one()
                await connection.execute(
                    insert(AttachmentChunk),
                    [
                        {"attachment_id": attachment_id, "seq": i, "data": c}
                        for i, c in enumerate(chunks)
                    ],
                )
                # Its hash and size in its sealed record, as the bot seals them.
                record = FileRecord(
                    sha256=sealer.plaintext_sha256, size=sealer.plaintext_size, mime="image/jpeg"
                )
                sealed_record = seal(
                    record.to_bytes(), [public], object_id=file_uid, kind="file_record"
                )
                await connection.execute(
                    Attachment.__table__.update()
                    .where(Attachment.id == attachment_id)
                    .values(record=sealed_record.ciphertext)
                )
                await connection.execute(
                    insert(SealedKey),
                    [
                        {
                            "kind": kind,
                            "object_uid": file_uid,
                            "recipient_id": recipient,
                            "wrapped_key": wrapped[key.key_id],
                        }
                        for kind, wrapped in (
                            ("attachment", sealer.wrapped_keys),
                            ("file_record", sealed_record.wrapped_keys),
                        )
                    ],
                )
                files = [{"uid": file_uid, "kind": "photo"}]
            sealed = seal(payload(code, files), [public], object_id=uid, kind="case")
            case_id = (
                await connection.execute(
                    insert(Case)
                    .values(
                        uid=uid,
                        code=code,
                        status=CaseStatus.VERIFIED,
                        locale="kk",
                        schema_version=1,
                        payload=sealed.ciphertext,
                        detainee_count=1,
                        attachment_count=len(files),
                        consent_contact=False,
                        consent_sharing="organisations",
                        grade="reported",
                        created_at=db_now(),
                        updated_at=db_now(),
                    )
                    .returning(Case.id)
                )
            ).scalar_one()
            await connection.execute(
                insert(SealedKey).values(
                    kind="case",
                    object_uid=uid,
                    recipient_id=recipient,
                    wrapped_key=sealed.wrapped_keys[key.key_id],
                )
            )
            if with_files:
                await connection.execute(
                    Attachment.__table__.update()
                    .where(Attachment.uid == files[0]["uid"])
                    .values(case_id=case_id)
                )
    await engine.dispose()


def db_now():
    from bot.models import utcnow

    return utcnow()


async def measure(url: str, key: ReviewerKey, fmt: str, count: int, folder: Path) -> None:
    engine = db.create_engine(url)
    reviewer = Reviewer(db.make_sessionmaker(engine), key)
    start = time.perf_counter()
    report = await export(reviewer, folder / f"out.{fmt}", fmt)
    seconds = time.perf_counter() - start
    await engine.dispose()
    size = (folder / f"out.{fmt}").stat().st_size / 1e6
    print(
        f"{fmt:<7} {report.exported:>6} cases  {report.exported / seconds:8.1f} cases/s  "
        f"{size:8.1f} MB written  peak RSS so far {rss_mib():.0f} MiB"
    )


def raw_throughput() -> None:
    key = ReviewerKey.generate()
    sealer = StreamSealer([key.public()], object_id="x", kind="attachment")
    data = os.urandom(64 * 1024 * 1024)
    chunks = list(sealer.seal_chunks(io.BytesIO(data)))
    from bot.crypto import StreamOpener

    start = time.perf_counter()
    opener = StreamOpener(
        sealer.header(), sealer.wrapped_keys[key.key_id], key, object_id="x", kind="attachment"
    )
    for _ in opener.open_chunks(chunks):
        pass
    ours = 64 / (time.perf_counter() - start)
    aead, nonce = AESGCM(AESGCM.generate_key(bit_length=256)), os.urandom(12)
    blocks = [aead.encrypt(nonce, data[i : i + 65536], None) for i in range(0, len(data), 65536)]
    start = time.perf_counter()
    for block in blocks:
        aead.decrypt(nonce, block, None)
    raw = 64 / (time.perf_counter() - start)
    print(f"decrypt: sealed stream {ours:.0f} MB/s, raw AES-256-GCM {raw:.0f} MB/s (64 MiB)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--bundle-cases", type=int, default=300)
    args = parser.parse_args()
    key = ReviewerKey.generate()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite+aiosqlite:///{folder}/plain.db"
        start = time.perf_counter()
        await fill(url, key, args.cases, with_files=False)
        print(f"sealed {args.cases} cases in {time.perf_counter() - start:.0f} s")
        for fmt in ("csv", "jsonl"):
            await measure(url, key, fmt, args.cases, folder)
        bundle_url = f"sqlite+aiosqlite:///{folder}/files.db"
        await fill(bundle_url, key, args.bundle_cases, with_files=True)
        await measure(bundle_url, key, "bundle", args.bundle_cases, folder)
    raw_throughput()


if __name__ == "__main__":
    asyncio.run(main())
