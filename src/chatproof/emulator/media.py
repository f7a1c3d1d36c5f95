"""Media objects and their short-lived download URLs.

Meta hands out a download URL that works for five minutes and only with the access token;
a client that caches URLs or forgets the header breaks in production. The emulator's URLs
have the same shape as Meta's CDN links (``/whatsapp_business/attachments/?mid=&ext=&hash=``,
which is also what 360dialog proxies), expire on the emulator clock and need auth too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["ATTACHMENTS_PATH", "MediaObject", "MediaStore"]

ATTACHMENTS_PATH = "/whatsapp_business/attachments/"


@dataclass(frozen=True)
class MediaObject:
    """Bytes uploaded by the business or sent by a simulated customer."""

    id: str
    content: bytes
    mime_type: str
    filename: str | None
    created_at: float

    @property
    def sha256_hex(self) -> str:
        """The media object endpoint reports the hash in hex."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def sha256_base64(self) -> str:
        """Webhooks report the hash in base64 (``SfInY0gGKTsJ…GUI=``)."""
        return base64.b64encode(hashlib.sha256(self.content).digest()).decode("ascii")

    def summary(self) -> dict[str, object]:
        """What the control API shows of the media a sent message carried."""
        return {
            "id": self.id,
            "mime_type": self.mime_type,
            "sha256": self.sha256_hex,
            "file_size": len(self.content),
            "filename": self.filename,
        }

    def info(self, url: str) -> dict[str, str]:
        """The body of ``GET /{version}/{media-id}``."""
        return {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": self.mime_type,
            "sha256": self.sha256_hex,
            "file_size": str(len(self.content)),
            "id": self.id,
        }


class MediaStore:
    """Media by id, plus HMAC-protected download links that expire."""

    def __init__(self, url_ttl: float, key: bytes | None = None) -> None:
        self._objects: dict[str, MediaObject] = {}
        self._url_ttl = url_ttl
        self._key = key if key is not None else secrets.token_bytes(32)

    def put(self, media: MediaObject) -> MediaObject:
        self._objects[media.id] = media
        return media

    def get(self, media_id: str) -> MediaObject | None:
        return self._objects.get(media_id)

    def delete(self, media_id: str) -> bool:
        return self._objects.pop(media_id, None) is not None

    def __len__(self) -> int:
        return len(self._objects)

    def download_url(self, media_id: str, base_url: str, now: float) -> str:
        expires = int(now + self._url_ttl)
        query = urlencode(
            {"mid": media_id, "ext": str(expires), "hash": self._signature(media_id, expires)}
        )
        return f"{base_url.rstrip('/')}{ATTACHMENTS_PATH}?{query}"

    def resolve(self, mid: str, ext: str, signature: str, now: float) -> MediaObject | None:
        """The media a download link points at, or None if it is forged, expired or deleted."""
        if not ext.isdigit():
            return None
        expires = int(ext)
        if not hmac.compare_digest(self._signature(mid, expires), signature):
            return None
        if now > expires:
            return None
        return self._objects.get(mid)

    def _signature(self, media_id: str, expires: int) -> str:
        mac = hmac.new(self._key, f"{media_id}:{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:18]).decode("ascii")
