"""What a file is, read from its bytes: never what her app declared.

A photo with an SVG inside, an HTML page named `letter.pdf` or a program sent as a document
would reach reviewers' browsers and partners as sent. So at intake the type is read from the
file's first bytes (`filetype`), and only the kinds below are kept; the detected type, not the
declared one, goes into the file's sealed record. SVG and HTML are text that `filetype` does
not recognise, so they are refused with everything else it does not know. HEIC is refused
too: no working copy without its metadata can be made of it (bot/reviewing/clean.py), and
her phone sends a photo as JPEG when she sends it as a photo.
"""

from __future__ import annotations

import filetype  # type: ignore[import-untyped]

IMAGES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/bmp"}
)
VIDEOS = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/3gpp"})
AUDIO = frozenset({"audio/ogg", "audio/mpeg", "audio/mp4", "audio/x-wav", "audio/amr", "audio/aac"})
KEPT: dict[str, frozenset[str]] = {
    "photo": IMAGES,
    "document": IMAGES | {"application/pdf"},
    "video": VIDEOS,
    "voice": AUDIO,
    "audio": AUDIO,
}


def type_of(kind: str, data: bytes) -> str | None:
    """The MIME type read from the file's bytes if a file of this kind may be kept; None
    otherwise (she is told, and nothing is sealed). Kinds that are not files (a written
    answer) are not typed here."""
    allowed = KEPT.get(kind)
    if allowed is None:
        return None
    found = filetype.guess(data[:8192])
    return found.mime if found is not None and found.mime in allowed else None
