"""Working copies of her files without their hidden metadata, for reviewers' eyes and partners.

A photo sent as a file keeps its EXIF (GPS position, camera, time, sometimes her name); a PDF
keeps its author, creator tool and XMP, and can carry attached files, scripts, notes signed
with a name, and photos with their own EXIF inside. Read from a partner's bundle, a GPS
position can show where a relative lives in Almaty. So what reviewers see and partners
receive is a working copy, typed from its bytes (never from a stored MIME string):
- images re-encoded by Pillow from their pixels alone (every frame of a multi-page TIFF or an
  animated GIF/WebP), upright as the EXIF said, without EXIF, XMP, ICC, comments or GPS;
  an image larger than MAX_PIXELS is refused (a small file can decode to gigabytes);
- PDFs saved by pikepdf without their info dictionary, XMP on any object, attached files,
  scripts, automatic actions, forms, notes and PieceInfo, and with the metadata segments of
  every JPEG inside removed.
The sealed original never changes: it stays the evidentiary copy, and bundles list both
hashes. Video and voice are not cleaned (`passes`): docs/export.md says what they can carry.
"""

from __future__ import annotations

import io
import warnings

import filetype  # type: ignore[import-untyped]
import pikepdf
from PIL import Image, ImageOps, ImageSequence

MAX_PIXELS = 40_000_000
IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
}
PDF = "application/pdf"
PASSES = ("video/", "audio/")
# JPEG segments that hold metadata, not pixels: APP1 (EXIF, XMP) to APP15, and comments.
_METADATA_MARKERS = set(range(0xE1, 0xF0)) | {0xFE}
_PDF_DROPPED = ("/OpenAction", "/AA", "/AcroForm", "/PieceInfo", "/Names", "/Metadata")


class CleaningError(Exception):
    """The file cannot be read as the type its bytes claim: no working copy."""


def type_of(data: bytes) -> str | None:
    """The file's type, read from its first bytes."""
    found = filetype.guess(data[:8192])
    return str(found.mime) if found is not None else None


def passes(mime: str | None) -> bool:
    """Whether a file of this type goes as it is (video, voice)."""
    return mime is not None and mime.startswith(PASSES)


def working_copy(data: bytes) -> bytes:
    """The file without its hidden metadata. Video and voice come back as they are; any
    other type that cannot be cleaned raises CleaningError (never passed through raw)."""
    mime = type_of(data)
    if mime in IMAGE_FORMATS:
        return _image(data, IMAGE_FORMATS[mime])
    if mime == PDF:
        return _pdf(data)
    if passes(mime):
        return data
    raise CleaningError(f"a file of type {mime or 'unknown'} cannot be cleaned")


def _image(data: bytes, fmt: str) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise CleaningError(f"the image is too large ({width}×{height} pixels)")
                frames = [_plain(frame) for frame in ImageSequence.Iterator(opened)]
                duration = opened.info.get("duration")
        out = io.BytesIO()
        options: dict[str, object] = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
        if len(frames) > 1 and fmt in ("GIF", "WEBP", "TIFF"):
            options |= {"save_all": True, "append_images": frames[1:]}
            if duration:
                options["duration"] = duration
        frames[0].save(out, format=fmt, **options)
        return out.getvalue()
    except CleaningError:
        raise
    except (OSError, ValueError, EOFError, Image.DecompressionBombError, Warning) as exc:
        raise CleaningError(f"the image cannot be read ({type(exc).__name__})") from None


def _plain(frame: Image.Image) -> Image.Image:
    """One frame from its pixels alone: no EXIF, XMP, ICC, comments or text chunks."""
    upright = ImageOps.exif_transpose(frame) or frame
    plain = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    if upright.mode == "P" and (palette := upright.getpalette()) is not None:
        plain.putpalette(palette)
    return plain


def _pdf(data: bytes) -> bytes:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer.Info
            for key in _PDF_DROPPED:
                if key in pdf.Root:
                    del pdf.Root[key]
            for page in pdf.pages:
                for key in ("/Annots", "/AA", "/PieceInfo", "/Metadata"):
                    if key in page.obj:
                        del page.obj[key]
            for obj in pdf.objects:
                if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                    for key in ("/Metadata", "/PieceInfo"):
                        if key in obj:
                            del obj[key]
                    if isinstance(obj, pikepdf.Stream) and obj.get("/Filter") == "/DCTDecode":
                        obj.write(
                            _jpeg_without_metadata(obj.read_raw_bytes()),
                            filter=pikepdf.Name.DCTDecode,
                        )
            out = io.BytesIO()
            pdf.save(out, static_id=False, fix_metadata_version=False)
            return out.getvalue()
    except (pikepdf.PdfError, ValueError) as exc:
        raise CleaningError(f"the PDF cannot be read ({type(exc).__name__})") from None


def _jpeg_without_metadata(data: bytes) -> bytes:
    """A JPEG's segments without APP1–APP15 and comments (EXIF, XMP, IPTC): the pixels are
    untouched, so a photo inside a PDF keeps its quality."""
    if data[:2] != b"\xff\xd8":
        return data
    out, position = bytearray(b"\xff\xd8"), 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[position:]
            return bytes(out)
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position : position + 2 + length]
        if marker not in _METADATA_MARKERS:
            out += segment
        position += 2 + length
    out += data[position:]
    return bytes(out)
