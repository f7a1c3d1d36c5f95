"""Files an agent attaches to a reply: which the Cloud API takes, as which message type, and
how large (DESIGN invariants 5 and 6).

The type is read from the file's first bytes, not taken from the browser: a renamed
executable must not reach a customer as "invoice.pdf", and the platform refuses a file whose
bytes do not match its declared type only later, in a status webhook (131053). The limits are
the Cloud API's per message type; stickers are not offered (they have their own tiny limits
and no caption).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum

from chatproof.domain.errors import DomainError

MIB = 1024 * 1024
MAX_CAPTION = 1024
MAX_FILENAME = 240


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"


LIMITS: dict[MediaKind, int] = {
    MediaKind.IMAGE: 5 * MIB,
    MediaKind.VIDEO: 16 * MIB,
    MediaKind.AUDIO: 16 * MIB,
    MediaKind.DOCUMENT: 100 * MIB,
}

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC, XLS, PPT = "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"

KINDS: dict[str, MediaKind] = {
    "image/jpeg": MediaKind.IMAGE,
    "image/png": MediaKind.IMAGE,
    "video/mp4": MediaKind.VIDEO,
    "video/3gpp": MediaKind.VIDEO,
    "audio/aac": MediaKind.AUDIO,
    "audio/mp4": MediaKind.AUDIO,
    "audio/mpeg": MediaKind.AUDIO,
    "audio/amr": MediaKind.AUDIO,
    "audio/ogg": MediaKind.AUDIO,
    "application/pdf": MediaKind.DOCUMENT,
    "text/plain": MediaKind.DOCUMENT,
    DOC: MediaKind.DOCUMENT,
    DOCX: MediaKind.DOCUMENT,
    XLS: MediaKind.DOCUMENT,
    XLSX: MediaKind.DOCUMENT,
    PPT: MediaKind.DOCUMENT,
    PPTX: MediaKind.DOCUMENT,
}
"""Every MIME type the composer accepts, with the message type it is sent as."""

CAPTIONED = frozenset({MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.DOCUMENT})

_EXTENSIONS = {
    "doc": DOC,
    "xls": XLS,
    "ppt": PPT,
    "docx": DOCX,
    "xlsx": XLSX,
    "pptx": PPTX,
    "txt": "text/plain",
    "m4a": "audio/mp4",
    "3gp": "video/3gpp",
}
_OOXML = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class AttachmentError(DomainError):
    """An attachment that cannot be sent; ``field`` is "attachment" or "caption"."""

    def __init__(self, reason: str, field: str = "attachment") -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A checked file for one message: its type as sniffed, the kind it is sent as, its
    caption, and its bytes (kept out of ``repr`` and comparisons)."""

    kind: MediaKind
    mime_type: str
    filename: str
    caption: str
    sha256: str
    size: int
    content: bytes = field(repr=False, compare=False)


def kind_of(mime_type: str) -> MediaKind:
    """The message type a MIME type is sent as.

    Raises:
        AttachmentError: the Cloud API takes no file of that type from the composer.
    """
    kind = KINDS.get(mime_type)
    if kind is None:
        raise AttachmentError(f"files of type {mime_type or 'unknown'} cannot be sent")
    return kind


def sniff(data: bytes, filename: str = "", declared: str = "") -> str | None:
    """The MIME type the bytes really are, among those the composer accepts, or None.

    Containers that several types share (MP4 for video and audio, ZIP for Office files, the
    old Office compound file) are told apart by a look inside or, where the bytes cannot say,
    by the declared type or the file name's extension; plain text is text only when it
    decodes as UTF-8 and was declared or named as text.
    """
    head = data[:16]
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    hinted = {declared, _EXTENSIONS.get(extension, "")}
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return _iso_media(head[8:12], hinted)
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    frame = _audio_frame(head)
    if frame is not None:
        return frame
    if head.startswith(b"PK\x03\x04"):
        return _ooxml(data)
    if head.startswith(_OLE2):
        return next((m for m in (DOC, XLS, PPT) if m in hinted), None)
    if "text/plain" in hinted and _is_text(data):
        return "text/plain"
    return None


def _audio_frame(head: bytes) -> str | None:
    """An ADTS (AAC) or MPEG audio frame header without a tag in front: sync bits, then
    fields that may not hold their reserved values (which a UTF-16 mark or random bytes do)."""
    if len(head) < 3 or head[0] != 0xFF:
        return None
    second, third = head[1], head[2]
    if second & 0xF6 == 0xF0 and (third >> 2) & 0x0F < 13:
        return "audio/aac"  # ADTS: 12 sync bits, layer 0, a real sampling rate
    version, layer = (second >> 3) & 0x03, (second >> 1) & 0x03
    bitrate, rate = third >> 4, (third >> 2) & 0x03
    if second & 0xE0 == 0xE0 and version != 1 and layer and bitrate != 0x0F and rate != 3:
        return "audio/mpeg"
    return None


def _iso_media(brand: bytes, hinted: set[str]) -> str:
    if brand.startswith(b"3g"):
        return "video/3gpp"
    if brand.startswith(b"M4A") or "audio/mp4" in hinted:
        return "audio/mp4"
    return "video/mp4"


def _ooxml(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, mime_type in _OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return mime_type
    return None


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check(data: bytes, filename: str, declared: str = "", caption: str = "") -> Attachment:
    """Sniff, map and size-check one file with its caption.

    Raises:
        AttachmentError: empty, of a type the Cloud API does not take, too large for its
        message type, or a caption it cannot carry.
    """
    name = _clean_name(filename)
    if not data:
        raise AttachmentError("the file is empty")
    mime_type = sniff(data, name, declared.split(";")[0].strip().lower())
    if mime_type == "image/webp":
        # The Cloud API takes WebP only as a sticker; as an image it fails with 131053.
        raise AttachmentError(f"{name or 'the file'} is a WebP picture; WhatsApp sends JPEG or PNG")
    if mime_type is None:
        shown = f" (sent as {declared})" if declared else ""
        raise AttachmentError(
            f"{name or 'the file'}{shown} is not an image (JPEG, PNG), video (MP4, 3GPP), "
            "audio (AAC, MP4, MP3, AMR, OGG) or document (PDF, Office, text) file"
        )
    kind = kind_of(mime_type)
    limit = LIMITS[kind]
    if len(data) > limit:
        raise AttachmentError(
            f"{kind.value} files may be at most {limit // MIB} MB; this one is "
            f"{len(data) / MIB:.1f} MB"
        )
    caption = caption.strip()
    if caption and kind not in CAPTIONED:
        raise AttachmentError(f"{kind.value} messages carry no caption", field="caption")
    if len(caption) > MAX_CAPTION:
        raise AttachmentError(f"must be at most {MAX_CAPTION} characters", field="caption")
    return Attachment(
        kind=kind,
        mime_type=mime_type,
        filename=name or f"{kind.value}.{mime_type.rsplit('/', 1)[-1]}",
        caption=caption,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=data,
    )


def _clean_name(filename: str) -> str:
    """The base name only (browsers on some systems send a whole path), without control
    characters, within the Cloud API's length for document names."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:MAX_FILENAME]
