"""What the browser is told a decrypted file is: by its first bytes, never by its name; and
whether it may show it in the page or must save it (anything it could run or render as a
document: PDF, SVG, HTML, the unknown)."""

from __future__ import annotations

MAGIC = (
    (b"%PDF", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
)
# Shown in the page (<img>, <audio>, <video>, a written answer as plain text); no scripts.
INLINE = frozenset(
    {
        "text/plain; charset=utf-8",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/ogg",
        "audio/mpeg",
        "video/mp4",
    }
)
EXTENSIONS = {"application/pdf": ".pdf"}


def media_type(first: bytes, kind: str) -> str:
    """What the browser is told a file is: a written answer is text, the rest go by first bytes."""
    if kind == "text":
        return "text/plain; charset=utf-8"
    for magic, name in MAGIC:
        if first.startswith(magic):
            return name
    if first.startswith(b"RIFF") and first[8:12] == b"WEBP":
        return "image/webp"
    if first[4:8] == b"ftyp":
        return "video/mp4"
    return {"voice": "audio/ogg", "video": "video/mp4"}.get(kind, "application/octet-stream")


def extension(shown: str) -> str:
    """The file name extension a download of this type gets."""
    return EXTENSIONS.get(shown, ".bin")


def disposition(shown: str, uid: str) -> str:
    """`inline` for what the page shows safely, else `attachment` under a name we choose."""
    if shown in INLINE:
        return "inline"
    return f'attachment; filename="aigaq-{uid[:16]}{EXTENSIONS.get(shown, ".bin")}"'
