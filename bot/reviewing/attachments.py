"""A sealed file's plaintext, opened chunk by chunk as it is read (nothing on disk), and its
sealed record: SHA-256, size, MIME type, name (bot/file_record.py)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.crypto import StreamOpener
from bot.file_record import KIND as FILE_RECORD
from bot.file_record import FileRecord, declared_mime
from bot.models import Attachment, AttachmentChunk
from bot.reviewing.cases import ReviewError
from bot.reviewing.opening import my_wrapped_key, open_object

if TYPE_CHECKING:
    from bot.reviewing.cases import Reviewer


class AttachmentReader:
    """Plaintext of one attachment, opened chunk by chunk as it is read."""

    def __init__(self, reviewer: Reviewer, uid: str) -> None:
        self._reviewer = reviewer
        self.uid = uid

    async def meta(self) -> Attachment:
        async with self._reviewer._sessionmaker() as session:
            found = await session.scalar(select(Attachment).where(Attachment.uid == self.uid))
        if found is None:
            raise ReviewError(f"no attachment {self.uid}")
        return found

    async def record(self) -> FileRecord:
        """Its sealed record, opened with her key. A file sealed before revision 0012 has
        none: its hash and size are computed from the file itself, as it is opened."""
        attachment = await self.meta()
        if attachment.record is not None:
            async with self._reviewer._sessionmaker() as session:
                plain = await open_object(
                    session,
                    self._reviewer.key,
                    FILE_RECORD,
                    self.uid,
                    attachment.record,
                    name=f"the record of file {self.uid}",
                )
            return FileRecord.from_bytes(plain)
        digest, size = hashlib.sha256(), 0
        async for part in self.stream():
            digest.update(part)
            size += len(part)
        return FileRecord(
            sha256=digest.hexdigest(),
            size=size,
            mime=declared_mime(attachment.kind, None),
            provenance="intake" if attachment.followup_id is None else "follow-up",
        )

    async def stream(self, batch: int = 16) -> AsyncIterator[bytes]:
        """The plaintext, 64 KiB at a time, read from the database `batch` chunks at once."""
        attachment = await self.meta()
        async with self._reviewer._sessionmaker() as session:
            wrapped = await my_wrapped_key(
                session, self._reviewer.key, "attachment", self.uid, name=f"file {self.uid}"
            )
        opener = StreamOpener(
            attachment.header, wrapped, self._reviewer.key, object_id=self.uid, kind="attachment"
        )
        seq = 0
        while True:
            async with self._reviewer._sessionmaker() as session:
                sealed = list(
                    await session.scalars(
                        select(AttachmentChunk.data)
                        .where(
                            AttachmentChunk.attachment_id == attachment.id,
                            AttachmentChunk.seq >= seq,
                        )
                        .order_by(AttachmentChunk.seq)
                        .limit(batch)
                    )
                )
            if not sealed:
                break
            for chunk in sealed:
                yield opener.feed(chunk)
            seq += len(sealed)
        opener.close()

    async def read(self) -> bytes:
        """The whole plaintext (for small files and tests)."""
        return b"".join([part async for part in self.stream()])
