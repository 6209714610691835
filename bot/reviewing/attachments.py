"""A sealed file's plaintext, opened chunk by chunk as it is read (nothing on disk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.crypto import StreamOpener
from bot.models import Attachment, AttachmentChunk
from bot.reviewing.cases import ReviewError
from bot.reviewing.opening import my_wrapped_key

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
