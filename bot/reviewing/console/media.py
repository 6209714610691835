"""What the browser is told a decrypted file is: by its first bytes, never by its name."""

from __future__ import annotations

MAGIC = (
    (b"%PDF", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
)


def media_type(first: bytes, kind: str) -> str:
    """What the browser is told a file is: a written answer is text, the rest go by first bytes."""
    if kind == "text":
        return "text/plain; charset=utf-8"
    for magic, name in MAGIC:
        if first.startswith(magic):
            return name
    if first[4:8] == b"ftyp":
        return "video/mp4"
    return {"voice": "audio/ogg", "video": "video/mp4"}.get(kind, "application/octet-stream")
