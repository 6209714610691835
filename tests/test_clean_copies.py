"""Files reach reviewers' eyes and partners without their hidden metadata: a photo's GPS and a
PDF's author are gone from the working copy, the sealed original keeps them, and a bundle
lists both hashes."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from bot.models import CaseStatus
from bot.reviewing.bundle import verify_bundle
from bot.reviewing.clean import CleaningError, working_copy
from bot.reviewing.export import export
from tests.harness import Harness
from tests.scenario import Consent, finish_intake
from tests.test_intake_robustness import to_step

GPS = {1: "N", 2: (43.0, 15.0, 0.0), 3: "E", 4: (76.0, 57.0, 0.0)}  # Almaty


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (180, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    exif[0x8825] = GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def pdf_with_author() -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    document.docinfo["/Author"] = "Gulbahram Nurlanqyzy"
    with document.open_metadata() as xmp:
        xmp["dc:creator"] = ["Gulbahram Nurlanqyzy"]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def gps_of(data: bytes) -> object:
    return Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)


def test_a_working_copy_has_no_gps_and_no_author() -> None:
    photo = photo_with_gps()
    assert gps_of(photo)
    clean = working_copy(photo)
    assert not gps_of(clean) and not Image.open(io.BytesIO(clean)).getexif()
    pdf = pdf_with_author()
    assert b"Gulbahram" in pdf
    copy = working_copy(pdf)
    assert b"Gulbahram" not in copy and len(pikepdf.open(io.BytesIO(copy)).pages) == 1
    voice = b"OggS" + b"\x00" * 60
    assert working_copy(voice) == voice  # voice and video are not cleaned
    for broken in (b"\xff\xd8\xff\xe0 not really a jpeg", b"plain text", b"MZ" + b"\x00" * 60):
        with pytest.raises(CleaningError):
            working_copy(broken)


def test_a_pdf_loses_attached_files_scripts_notes_and_the_exif_of_its_photos() -> None:
    document = pikepdf.new()
    document.add_blank_page()
    document.attachments["home-address.txt"] = pikepdf.AttachedFileSpec(
        document, b"Abay street 12, Almaty", mime_type="text/plain"
    )
    document.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )
    note = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[0, 0, 10, 10],
        T=pikepdf.String("Gulnar Author"),
        Contents=pikepdf.String("note"),
    )
    document.pages[0].obj.Annots = document.make_indirect(pikepdf.Array([note]))
    photo = document.make_stream(photo_with_gps())
    photo.Type, photo.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    photo.Width, photo.Height, photo.BitsPerComponent = 64, 48, 8
    photo.ColorSpace, photo.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    document.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=photo))
    out = io.BytesIO()
    document.save(out)
    raw = out.getvalue()
    assert b"Phone maker" in raw and b"Gulnar" in raw and b"app.alert" in raw
    assert pikepdf.open(io.BytesIO(raw)).attachments  # her address, attached
    copy = working_copy(raw)
    for secret in (b"Phone maker", b"Gulnar", b"app.alert", b"EmbeddedFiles"):
        assert secret not in copy
    opened = pikepdf.open(io.BytesIO(copy))
    assert len(opened.pages) == 1 and not opened.attachments


def test_an_image_bomb_is_refused_and_every_frame_is_kept() -> None:
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # a small file, 81 million pixels
    with pytest.raises(CleaningError, match="too large"):
        working_copy(bomb.getvalue())
    pages = [Image.new("RGB", (20, 20), colour) for colour in ("red", "green", "blue")]
    tiff = io.BytesIO()
    pages[0].save(tiff, "TIFF", save_all=True, append_images=pages[1:])
    assert Image.open(io.BytesIO(working_copy(tiff.getvalue()))).n_frames == 3


async def test_partners_get_clean_copies_the_original_stays_sealed(
    harness: Harness, tmp_path: Path
) -> None:
    user = harness.user(user_id=3900, language_code="en")
    await to_step(user, "evidence")
    photo, pdf = photo_with_gps(), pdf_with_author()
    await user.send_document(photo, file_name="IMG_0001.jpg", mime_type="image/jpeg")
    await user.send_document(pdf, file_name="letter.pdf", mime_type="application/pdf")
    code = await finish_intake(user, consent=Consent(sharing="organisations"))
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    partner = tmp_path / "partner.zip"
    await export(reviewer, partner, "bundle")
    assert verify_bundle(partner) > 0
    with zipfile.ZipFile(partner) as bundle:
        listed = json.loads(bundle.read("manifest.json"))["files"]
        contents = {item["path"]: bundle.read(item["path"]) for item in listed}
    digest = hashlib.sha256(photo).hexdigest()
    entry = next(item for item in listed if item.get("original_sha256") == digest)
    assert entry["sha256"] != digest  # both hashes: the copy's and the original's
    assert not gps_of(contents[entry["path"]])
    everything = b"".join(contents.values())
    assert b"Gulbahram" not in everything and b"Phone maker" not in everything
    # The sealed original is the evidentiary copy, unchanged.
    opened = await reviewer.show(code)
    uids = [item["uid"] for item in opened.payload["evidence"]]
    originals = [await reviewer.attachment(uid).read() for uid in uids]
    assert photo in originals and pdf in originals
    # The team's own export keeps the originals.
    internal = tmp_path / "team.zip"
    await export(reviewer, internal, "bundle", internal=True)
    with zipfile.ZipFile(internal) as bundle:
        assert any(bundle.read(name) == photo for name in bundle.namelist())


def test_xlsx_cells_drop_what_xml_cannot_hold() -> None:
    """A relative's answer with U+FFFE or a lone surrogate must not break every xlsx export
    that includes her case."""
    from bot.reviewing.export_xlsx import UNWRITABLE

    assert UNWRITABLE.sub("\ufffd", "a\ufffeb\ud800c\x01d\te") == "a\ufffdb\ufffdc\ufffdd\te"


async def test_a_file_that_cannot_be_cleaned_stays_with_the_team(
    harness: Harness, tmp_path: Path
) -> None:
    """One damaged photo does not stop every partner bundle: it is left out and named."""
    user = harness.user(user_id=3950, language_code="en")
    await to_step(user, "evidence")
    damaged = b"\xff\xd8\xff\xe0" + b"\x00" * 64  # a JPEG's start, then nothing readable
    await user.send_document(damaged, file_name="scan.jpg", mime_type="image/jpeg")
    code = await finish_intake(user, consent=Consent(sharing="organisations"))
    reviewer = harness.reviewer_tool()
    await reviewer.decisions.set_status(code, CaseStatus.VERIFIED)
    report = await export(reviewer, tmp_path / "partner.zip", "bundle")
    assert report.exported == 1 and len(report.withheld_files) == 1
    assert report.withheld_files[0].startswith(code)
    with zipfile.ZipFile(tmp_path / "partner.zip") as bundle:
        assert all(bundle.read(name) != damaged for name in bundle.namelist())
