"""Working copies of her files without their hidden metadata, for reviewers' eyes and partners.

A photo sent as a file keeps its EXIF (GPS position, camera, time, sometimes her name); a PDF
keeps its author, creator tool and XMP. Read from a partner's bundle, a GPS position can show
where a relative lives in Almaty. So what reviewers see and partners receive is a working
copy: images re-encoded by Pillow without EXIF, XMP, comments or GPS (turned upright first,
as the EXIF said), PDFs saved by pikepdf without their info dictionary and XMP metadata. The
sealed original never changes: it stays the evidentiary copy, and bundles list both hashes.
Other files (video, voice) are passed through as they are (docs/export.md says so).
"""

from __future__ import annotations

import io
import logging

import pikepdf
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
}
PDF = "application/pdf"


class CleaningError(Exception):
    """The file could not be read as what its record says it is: no working copy."""


def cleans(mime: str) -> bool:
    """Whether files of this type get a working copy without metadata."""
    return mime in IMAGE_FORMATS or mime == PDF


def working_copy(data: bytes, mime: str) -> bytes:
    """The file without its hidden metadata; the same bytes for types that are not cleaned."""
    if mime in IMAGE_FORMATS:
        return _image(data, IMAGE_FORMATS[mime])
    if mime == PDF:
        return _pdf(data)
    return data


def _image(data: bytes, fmt: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            upright = ImageOps.exif_transpose(opened) or opened
            # A new image from the pixels alone: no EXIF, XMP, comments or text chunks.
            plain = Image.frombytes(upright.mode, upright.size, upright.tobytes())
            if upright.mode == "P" and (palette := upright.getpalette()) is not None:
                plain.putpalette(palette)
            out = io.BytesIO()
            options = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
            plain.save(out, format=fmt, **options)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CleaningError(f"the image cannot be read ({type(exc).__name__})") from None


def _pdf(data: bytes) -> bytes:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer.Info
            if "/Metadata" in pdf.Root:
                del pdf.Root.Metadata
            for page in pdf.pages:
                if "/Metadata" in page.obj:
                    del page.obj.Metadata
            out = io.BytesIO()
            pdf.save(out)
            return out.getvalue()
    except pikepdf.PdfError as exc:
        raise CleaningError(f"the PDF cannot be read ({type(exc).__name__})") from None
