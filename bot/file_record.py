"""A file's sealed record: what the server must not keep about a file, sealed beside it.

The bot knows a file's SHA-256, size, MIME type and name only while it seals the file; it
seals them at once as a small JSON object of kind `file_record` (`attachments.record`, its
data keys in `sealed_keys` like any sealed object) to the same holders as the file, and keeps
nothing of them in the clear. Reviewer tools open it (bot/reviewing/attachments.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
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


CAPTION_MAX = 1024  # what Telegram allows a caption
ORIGIN_MAX = 300


@dataclass(frozen=True)
class Origin:
    """Where a file came from, as its message said: her caption, who forwarded it to her and
    when (how documents reach families from Xinjiang), the message's date, the MIME type her
    app declared. Read by handlers/files.py `origin_of()`; sealed in the file's record."""

    caption: str | None = None
    forwarded_from: str | None = None
    forwarded_at: datetime | None = None
    sent_at: datetime | None = None
    declared_mime: str | None = None


class FileRecord(BaseModel):
    """A file's SHA-256 and size (of the plaintext), its MIME type as read from its bytes when
    it arrived, its original name if it had one, whether it came with the intake or a
    follow-up, and its provenance (`Origin`); a record sealed before 2026-11 has none of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    size: int
    mime: str
    name: str | None = None
    provenance: Literal["intake", "follow-up"] = "intake"
    caption: str | None = None
    forwarded_from: str | None = None
    forwarded_at: str | None = None  # ISO 8601, UTC
    sent_at: str | None = None  # ISO 8601, UTC: the message's date
    declared_mime: str | None = None

    def origin(self) -> dict[str, str]:
        """The provenance fields it has, for reviewers, exports and bundle manifests."""
        fields = ("caption", "forwarded_from", "forwarded_at", "sent_at", "declared_mime")
        return {name: value for name in fields if (value := getattr(self, name))}

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
        origin: Origin | None = None,
    ) -> FileRecord:
        """The record of a file as it arrived: its type as intake read it from the bytes,
        its name cut to 255 characters, where it came from (`origin`)."""
        origin = origin or Origin()
        return cls(
            sha256=sha256,
            size=size,
            mime=declared_mime(kind, mime),
            name=name[:255] if name else None,
            provenance="follow-up" if follow_up else "intake",
            caption=origin.caption[:CAPTION_MAX] if origin.caption else None,
            forwarded_from=origin.forwarded_from[:ORIGIN_MAX] if origin.forwarded_from else None,
            forwarded_at=_iso(origin.forwarded_at),
            sent_at=_iso(origin.sent_at),
            declared_mime=origin.declared_mime[:100] if origin.declared_mime else None,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def declared_mime(kind: str, declared: str | None) -> str:
    """The file's MIME type as intake read it from the bytes (bot/services/filetypes.py), or
    what Telegram sends this kind as. Never trusted for showing a file: the console goes by
    the file's first bytes again (console/media.py)."""
    if declared:
        return declared[:100]
    return DEFAULT_MIME.get(kind, "application/octet-stream")
