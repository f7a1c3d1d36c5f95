"""Which files the composer takes, as which Cloud API message type, up to which size."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from chatproof.domain.attachments import (
    DOC,
    DOCX,
    LIMITS,
    MIB,
    PPTX,
    XLSX,
    AttachmentError,
    MediaKind,
    check,
    kind_of,
    sniff,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj\n%%EOF"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00" + b"\x00" * 32
M4A = b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00" + b"\x00" * 32
GP3 = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00" + b"\x00" * 32
AMR = b"#!AMR\n" + b"\x3c" * 32
OGG = b"OggS\x00\x02" + b"\x00" * 32
MP3 = b"ID3\x04\x00\x00" + b"\x00" * 32
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 32
AAC = b"\xff\xf1\x50\x80" + b"\x00" * 32
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32


def ooxml(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "declared", "mime", "kind"),
    [
        (JPEG, "a.jpg", "", "image/jpeg", MediaKind.IMAGE),
        (PNG, "a.png", "image/png", "image/png", MediaKind.IMAGE),
        (MP4, "a.mp4", "video/mp4", "video/mp4", MediaKind.VIDEO),
        (GP3, "a.3gp", "", "video/3gpp", MediaKind.VIDEO),
        (M4A, "a.m4a", "", "audio/mp4", MediaKind.AUDIO),
        (MP4, "voice.m4a", "audio/mp4", "audio/mp4", MediaKind.AUDIO),
        (AMR, "a.amr", "", "audio/amr", MediaKind.AUDIO),
        (OGG, "a.ogg", "", "audio/ogg", MediaKind.AUDIO),
        (MP3, "a.mp3", "", "audio/mpeg", MediaKind.AUDIO),
        (MP3_FRAME, "a.mp3", "", "audio/mpeg", MediaKind.AUDIO),
        (AAC, "a.aac", "", "audio/aac", MediaKind.AUDIO),
        (PDF, "a.pdf", "application/pdf", "application/pdf", MediaKind.DOCUMENT),
        (ooxml("word/"), "a.docx", "", DOCX, MediaKind.DOCUMENT),
        (ooxml("xl/"), "a.xlsx", "", XLSX, MediaKind.DOCUMENT),
        (ooxml("ppt/"), "a.pptx", "", PPTX, MediaKind.DOCUMENT),
        (OLE2, "old.doc", "", DOC, MediaKind.DOCUMENT),
        ("Grüße\n".encode(), "notes.txt", "", "text/plain", MediaKind.DOCUMENT),
    ],
)
def test_the_type_is_read_from_the_bytes_and_mapped(
    data: bytes, name: str, declared: str, mime: str, kind: MediaKind
) -> None:
    attachment = check(data, name, declared)
    assert (attachment.mime_type, attachment.kind) == (mime, kind)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.size == len(data)


def test_the_browser_is_not_believed() -> None:
    assert check(PNG, "scan.jpg", "image/jpeg").mime_type == "image/png"
    with pytest.raises(AttachmentError, match=r"^attachment: invoice\.pdf \(sent as applicat"):
        check(b"MZ\x90\x00 an executable", "invoice.pdf", "application/pdf")


@pytest.mark.parametrize(
    ("data", "name", "declared"),
    [
        (b"PK\x03\x04 not really a zip", "a.docx", DOCX),
        (OLE2, "thing.bin", "application/octet-stream"),
        (b"GIF89a" + b"\x00" * 10, "a.gif", "image/gif"),
        (b"plain words", "a.csv", "text/csv"),
        (b"\x00\x01binary", "a.txt", "text/plain"),
        (b"\xff\xfe\xfa not utf-8", "a.txt", "text/plain"),
    ],
)
def test_unknown_or_unsupported_types_are_refused(data: bytes, name: str, declared: str) -> None:
    with pytest.raises(AttachmentError) as raised:
        check(data, name, declared)
    assert raised.value.field == "attachment"
    assert "is not an image" in str(raised.value)


def test_a_webp_picture_is_refused_as_whatsapp_takes_it_only_as_a_sticker() -> None:
    with pytest.raises(AttachmentError, match=r"^attachment: a\.webp is a WebP picture; WhatsApp"):
        check(WEBP, "a.webp", "image/webp")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(AttachmentError, match=r"^attachment: the file is empty$"):
        check(b"", "a.pdf", "application/pdf")


@pytest.mark.parametrize(
    ("head", "kind", "limit_mb"),
    [(JPEG, MediaKind.IMAGE, 5), (MP4, MediaKind.VIDEO, 16), (OGG, MediaKind.AUDIO, 16)],
)
def test_each_type_has_the_cloud_api_limit(head: bytes, kind: MediaKind, limit_mb: int) -> None:
    assert LIMITS[kind] == limit_mb * MIB
    at_limit = head + b"\x00" * (limit_mb * MIB - len(head))
    assert check(at_limit, "f").size == limit_mb * MIB
    with pytest.raises(
        AttachmentError,
        match=rf"^attachment: {kind.value} files may be at most "
        rf"{limit_mb} MB; this one is {limit_mb}\.0 MB",
    ):
        check(at_limit + b"\x00", "f")


def test_documents_may_be_100_mb() -> None:
    assert LIMITS[MediaKind.DOCUMENT] == 100 * MIB
    big = PDF + b"\x00" * (100 * MIB + 1 - len(PDF))
    with pytest.raises(AttachmentError, match="document files may be at most 100 MB"):
        check(big, "big.pdf")


def test_captions_only_where_the_cloud_api_takes_them() -> None:
    assert check(PDF, "a.pdf", caption="  Rechnung  ").caption == "Rechnung"
    with pytest.raises(AttachmentError) as raised:
        check(OGG, "a.ogg", caption="hör mal")
    assert (raised.value.field, raised.value.reason) == (
        "caption",
        "audio messages carry no caption",
    )
    with pytest.raises(AttachmentError, match=r"^caption: must be at most 1024"):
        check(JPEG, "a.jpg", caption="x" * 1025)


def test_the_file_name_is_the_base_name_without_control_characters() -> None:
    assert check(PDF, "C:\\Users\\anna\\Rechnung\x07.pdf").filename == "Rechnung.pdf"
    assert check(JPEG, "").filename == "image.jpeg"
    assert len(check(PDF, "x" * 300 + ".pdf").filename) == 240


def test_stickers_and_unknown_mime_types_are_not_offered() -> None:
    assert kind_of("application/pdf") is MediaKind.DOCUMENT
    with pytest.raises(AttachmentError, match="application/zip cannot be sent"):
        kind_of("application/zip")


def test_sniff_says_none_for_what_it_does_not_know() -> None:
    assert sniff(b"") is None
    assert sniff(b"hello", "a.md", "text/markdown") is None
