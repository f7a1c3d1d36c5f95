"""The async Cloud API client: sends messages, marks them read, moves media.

It speaks to Meta, to 360dialog or to the emulator, as its ``Connection`` says. Callers get
frozen dataclasses or a ``CloudApiError`` subclass, never raw JSON, so the send worker can
archive the outcome and decide on retries from ``CloudApiError.retryable`` alone. The client
does not retry sends itself: only the outbox knows whether a retry is still lawful and wanted
(invariant 5). Logs carry the operation and status, never a phone number, a wamid or message
text (invariant 3).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from chatproof.channels.whatsapp import outbound
from chatproof.channels.whatsapp.connection import Connection
from chatproof.channels.whatsapp.errors import (
    CloudApiError,
    CloudApiUnavailable,
    MediaError,
    MediaIntegrityError,
    MediaTooLarge,
    MessageValidationError,
    error_from_response,
)
from chatproof.channels.whatsapp.outbound import JsonObject, ListSection, MediaKind

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "CloudApiClient",
    "MediaInfo",
    "SendResult",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_MEDIA_BYTES = 100 * 1024 * 1024
# The media URL expires after five minutes; re-ask for it at most twice, because 360dialog
# blocks GET /{media-id} for an hour after more than five failed fetches.
MEDIA_URL_ATTEMPTS = 3
_EXPIRED_URL_STATUSES = frozenset({401, 403, 404})
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class SendResult:
    """The platform accepted a message; delivery is reported later by status webhooks."""

    message_id: str
    wa_id: str | None
    input: str
    message_status: str | None


@dataclass(frozen=True)
class MediaInfo:
    """A media object: where to download it (valid five minutes) and what it should be."""

    url: str
    mime_type: str
    sha256: str | None
    file_size: int | None
    id: str


class _ExpiredMediaUrl(Exception):
    def __init__(self, error: CloudApiError) -> None:
        self.error = error


def _sha256_digest(value: str) -> bytes:
    """Decode a SHA-256 given as hex or as (standard or URL-safe) base64.

    Webhook samples carry base64; hex is accepted too, so either source of the hash works.
    """
    text = value.strip()
    if _HEX_SHA256.fullmatch(text):
        return bytes.fromhex(text)
    normalised = text.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        raw = base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != hashlib.sha256().digest_size:
        raise MediaError("expected_sha256 is neither hex nor base64 of a SHA-256 digest")
    return raw


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class CloudApiClient:
    """Async client of the WhatsApp Cloud API (Meta or 360dialog flavour).

    Pass ``http`` to share a pool or to mount a transport (the emulator, a ``MockTransport``);
    a client passed in is not closed by ``aclose``.
    """

    def __init__(
        self,
        connection: Connection,
        http: httpx.AsyncClient | None = None,
        *,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
    ) -> None:
        self._connection = connection
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=connection.timeout)
        self._max_media_bytes = max_media_bytes

    @property
    def connection(self) -> Connection:
        return self._connection

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # HTTP plumbing

    async def _request(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        json: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> JsonObject:
        try:
            response = await self._http.request(
                method,
                url,
                headers=self._connection.auth_headers(),
                json=json,
                data=data,
                files=files,
                timeout=self._connection.timeout,
            )
        except httpx.TimeoutException as exc:
            logger.warning("whatsapp %s timed out", operation)
            raise CloudApiUnavailable(f"{operation} timed out") from exc
        except httpx.TransportError as exc:
            logger.warning("whatsapp %s failed: %s", operation, type(exc).__name__)
            raise CloudApiUnavailable(f"{operation} failed: {type(exc).__name__}") from exc
        if response.is_error:
            error = error_from_response(response.status_code, response.content)
            logger.warning(
                "whatsapp %s -> HTTP %s code=%s", operation, response.status_code, error.code
            )
            raise error
        logger.debug("whatsapp %s -> HTTP %s", operation, response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CloudApiError(
                f"{operation} answered with a body that is not a JSON object",
                http_status=response.status_code,
            )
        return body

    @staticmethod
    def _require_success(operation: str, body: JsonObject) -> None:
        if body.get("success") is not True:
            raise CloudApiError(f"{operation} was not confirmed (no success: true)")

    # Messages

    async def send_payload(self, payload: Mapping[str, Any]) -> SendResult:
        """Send a body built by ``chatproof.channels.whatsapp.outbound`` (e.g. from the outbox).

        Raises:
            CloudApiError: the platform refused the message or could not be reached.
        """
        body = await self._request(
            f"send {payload.get('type', 'message')}",
            "POST",
            self._connection.messages_url,
            json=payload,
        )
        return self._send_result(body, str(payload.get("to", "")))

    @staticmethod
    def _send_result(body: JsonObject, to: str) -> SendResult:
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise CloudApiError("send response carries no messages[0].id", http_status=200)
        contacts = body.get("contacts")
        contact = contacts[0] if isinstance(contacts, list) and contacts else {}
        contact = contact if isinstance(contact, dict) else {}
        wa_id = contact.get("wa_id")
        given = contact.get("input")
        status = first.get("message_status") if isinstance(first, dict) else None
        return SendResult(
            message_id=message_id,
            wa_id=wa_id if isinstance(wa_id, str) else None,
            input=given if isinstance(given, str) else to,
            message_status=status if isinstance(status, str) else None,
        )

    async def send_text(
        self,
        to: str,
        body: str,
        *,
        preview_url: bool = False,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        return await self.send_payload(
            outbound.text_message(
                to,
                body,
                preview_url=preview_url,
                reply_to=reply_to,
                biz_opaque_callback_data=biz_opaque_callback_data,
            )
        )

    async def send_template(
        self,
        to: str,
        name: str,
        language: str,
        components: Sequence[JsonObject] = (),
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Send an approved template; build ``components`` with the helpers in ``outbound``."""
        return await self.send_payload(
            outbound.template_message(
                to,
                name,
                language,
                components,
                reply_to=reply_to,
                biz_opaque_callback_data=biz_opaque_callback_data,
            )
        )

    async def send_interactive_buttons(
        self,
        to: str,
        body: str,
        buttons: Sequence[tuple[str, str]],
        header: str | JsonObject | None = None,
        footer: str | None = None,
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Send up to three ``(id, title)`` reply buttons (titles of at most 20 characters).

        Raises:
            MessageValidationError: before sending, naming the offending field.
        """
        return await self.send_payload(
            outbound.buttons_message(
                to,
                body,
                buttons,
                header=header,
                footer=footer,
                reply_to=reply_to,
                biz_opaque_callback_data=biz_opaque_callback_data,
            )
        )

    async def send_interactive_list(
        self,
        to: str,
        body: str,
        button: str,
        sections: Sequence[ListSection],
        header: str | None = None,
        footer: str | None = None,
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Send a list (at most 10 sections and 10 rows in all).

        Raises:
            MessageValidationError: before sending, naming the offending field.
        """
        return await self.send_payload(
            outbound.list_message(
                to,
                body,
                button,
                sections,
                header=header,
                footer=footer,
                reply_to=reply_to,
                biz_opaque_callback_data=biz_opaque_callback_data,
            )
        )

    async def send_media(
        self,
        to: str,
        kind: MediaKind,
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        """Send media by uploaded ``media_id`` or public ``link`` (exactly one)."""
        return await self.send_payload(
            outbound.media_message(
                to,
                kind,
                media_id=media_id,
                link=link,
                caption=caption,
                filename=filename,
                reply_to=reply_to,
                biz_opaque_callback_data=biz_opaque_callback_data,
            )
        )

    async def send_reaction(self, to: str, message_id: str, emoji: str) -> SendResult:
        """React to ``message_id``; an empty ``emoji`` removes the reaction."""
        return await self.send_payload(outbound.reaction_message(to, message_id, emoji))

    async def send_location(
        self,
        to: str,
        latitude: float,
        longitude: float,
        *,
        name: str | None = None,
        address: str | None = None,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
    ) -> SendResult:
        return await self.send_payload(
            outbound.location_message(
                to,
                latitude,
                longitude,
                name=name,
                address=address,
                reply_to=reply_to,
                biz_opaque_callback_data=biz_opaque_callback_data,
            )
        )

    async def list_templates(self, waba_id: str, *, max_pages: int = 50) -> list[JsonObject]:
        """Every message template of the business account, following ``paging.next``.

        Raises:
            CloudApiError: the platform refused or could not be reached.
            ConnectionConfigError: the provider has no such endpoint here.
        """
        url: str | None = self._connection.templates_url(waba_id)
        found: list[JsonObject] = []
        for _ in range(max_pages):
            if url is None:
                break
            body = await self._request("list templates", "GET", url)
            data = body.get("data")
            if not isinstance(data, list):
                raise CloudApiError("template list carries no data array", http_status=200)
            found.extend(item for item in data if isinstance(item, dict))
            paging = body.get("paging")
            following = paging.get("next") if isinstance(paging, dict) else None
            url = following if isinstance(following, str) and following else None
        return found

    async def create_template(self, waba_id: str, payload: Mapping[str, Any]) -> JsonObject:
        """Submit a new message template for review (``POST /{waba-id}/message_templates``);
        returns the platform's answer, ``{"id", "status", "category"}`` (status PENDING until
        reviewed; the outcome arrives as a ``message_template_status_update`` webhook).

        Raises:
            CloudApiError: the platform refused (the message names why) or could not be
                reached, or the answer carries no template id.
            ConnectionConfigError: the provider has no such endpoint here.
        """
        url = self._connection.templates_url(waba_id)
        body = await self._request("create template", "POST", url, json=payload)
        if not isinstance(body.get("id"), str | int) or not str(body.get("id")):
            raise CloudApiError("template creation answered without a template id", http_status=200)
        return body

    async def mark_as_read(self, message_id: str, typing_indicator: bool = False) -> None:
        body = await self._request(
            "mark read",
            "POST",
            self._connection.messages_url,
            json=outbound.read_receipt(message_id, typing_indicator=typing_indicator),
        )
        self._require_success("mark read", body)

    # Media

    async def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload media for later sending; returns its media id (kept 30 days).

        Raises:
            MediaTooLarge: the content is over the client's cap.
        """
        if not content:
            raise MessageValidationError("file", "must not be empty")
        if len(content) > self._max_media_bytes:
            raise MediaTooLarge(self._max_media_bytes, len(content))
        if not mime_type or "/" not in mime_type:
            raise MessageValidationError("type", "must be a MIME type such as image/jpeg")
        if not filename:
            raise MessageValidationError("file", "needs a filename")
        body = await self._request(
            "upload media",
            "POST",
            self._connection.media_url,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        media_id = body.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise CloudApiError("upload response carries no id", http_status=200)
        return media_id

    async def get_media(self, media_id: str) -> MediaInfo:
        body = await self._request("get media", "GET", self._connection.media_object_url(media_id))
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise CloudApiError("media object carries no url", http_status=200)
        mime_type = body.get("mime_type")
        sha256 = body.get("sha256")
        returned_id = body.get("id")
        return MediaInfo(
            url=url,
            mime_type=mime_type if isinstance(mime_type, str) else "application/octet-stream",
            sha256=sha256 if isinstance(sha256, str) and sha256 else None,
            file_size=_as_int(body.get("file_size")),
            id=returned_id if isinstance(returned_id, str) and returned_id else media_id,
        )

    async def delete_media(self, media_id: str) -> None:
        body = await self._request(
            "delete media", "DELETE", self._connection.media_object_url(media_id)
        )
        self._require_success("delete media", body)

    async def download_media(self, media_id: str, *, expected_sha256: str | None = None) -> bytes:
        """Fetch a media object's bytes, re-asking for its URL if that has expired.

        ``expected_sha256`` is the hash the webhook announced (base64 or hex).

        Raises:
            MediaIntegrityError: the bytes do not match ``expected_sha256``.
            MediaTooLarge: the media is over the client's cap.
            CloudApiError: the platform refused or could not be reached.
        """
        expected = _sha256_digest(expected_sha256) if expected_sha256 is not None else None
        content = await self._download_with_fresh_url(media_id)
        if expected is not None and expected_sha256 is not None:
            computed = hashlib.sha256(content).digest()
            if not hmac.compare_digest(computed, expected):
                shown = (
                    computed.hex()
                    if _HEX_SHA256.fullmatch(expected_sha256.strip())
                    else base64.b64encode(computed).decode()
                )
                raise MediaIntegrityError(expected_sha256, shown)
        return content

    async def _download_with_fresh_url(self, media_id: str) -> bytes:
        last_error = CloudApiError("media URL kept being refused")
        for _ in range(MEDIA_URL_ATTEMPTS):
            info = await self.get_media(media_id)
            if info.file_size is not None and info.file_size > self._max_media_bytes:
                raise MediaTooLarge(self._max_media_bytes, info.file_size)
            try:
                return await self._fetch_media_bytes(info.url)
            except _ExpiredMediaUrl as expired:
                last_error = expired.error
                logger.info("whatsapp media URL refused (HTTP %s)", last_error.http_status)
        raise last_error

    async def _fetch_media_bytes(self, url: str) -> bytes:
        limit = self._max_media_bytes
        try:
            async with self._http.stream(
                "GET",
                self._connection.download_url(url),
                headers=self._connection.auth_headers(),
                timeout=self._connection.timeout,
            ) as response:
                if response.is_error:
                    error = error_from_response(response.status_code, await response.aread())
                    if response.status_code in _EXPIRED_URL_STATUSES:
                        raise _ExpiredMediaUrl(error)
                    logger.warning("whatsapp download media -> HTTP %s", response.status_code)
                    raise error
                declared = _as_int(response.headers.get("content-length"))
                if declared is not None and declared > limit:
                    raise MediaTooLarge(limit, declared)
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > limit:
                        raise MediaTooLarge(limit)
        except httpx.TimeoutException as exc:
            raise CloudApiUnavailable("download media timed out") from exc
        except httpx.TransportError as exc:
            raise CloudApiUnavailable(f"download media failed: {type(exc).__name__}") from exc
        logger.debug("whatsapp download media -> HTTP %s", response.status_code)
        return bytes(content)
