"""A file's sealed record: what the server must not keep about a file, sealed beside it.

The bot knows a file's SHA-256, size, MIME type and name only while it seals the file; it
seals them at once as a small JSON object of kind `file_record` (`attachments.record`, its
data keys in `sealed_keys` like any sealed object) to the same holders as the file, and keeps
nothing of them in the clear. Reviewer tools open it (bot/reviewing/attachments.py).
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

KIND = "file_record"
# What Telegram sends each kind as when it declares no MIME type (a photo is always a JPEG).
DEFAULT_MIME = {
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "video": "video/mp4",
    "text": "text/plain; charset=utf-8",
}


class FileRecord(BaseModel):
    """A file's SHA-256 and size (of the plaintext), its MIME type as declared when it arrived,
    its original name if it had one, and whether it came with the intake or a follow-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    size: int
    mime: str
    name: str | None = None
    provenance: Literal["intake", "follow-up"] = "intake"

    def to_bytes(self) -> bytes:
        return json.dumps(self.model_dump(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> FileRecord:
        return cls.model_validate(json.loads(raw))

    @classmethod
    def received(
        cls,
        kind: str,
        *,
        sha256: str,
        size: int,
        mime: str | None,
        name: str | None,
        follow_up: bool = False,
    ) -> FileRecord:
        """The record of a file as it arrived: its type as intake read it from the bytes,
        its name cut to 255 characters."""
        return cls(
            sha256=sha256,
            size=size,
            mime=declared_mime(kind, mime),
            name=name[:255] if name else None,
            provenance="follow-up" if follow_up else "intake",
        )


def declared_mime(kind: str, declared: str | None) -> str:
    """The file's MIME type as intake read it from the bytes (bot/services/filetypes.py), or
    what Telegram sends this kind as. Never trusted for showing a file: the console goes by
    the file's first bytes again (console/media.py)."""
    if declared:
        return declared[:100]
    return DEFAULT_MIME.get(kind, "application/octet-stream")
