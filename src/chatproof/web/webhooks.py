"""``/webhooks/whatsapp``: the subscription handshake and signed event delivery.

The POST handler answers 200 only once the events are committed (DESIGN invariant 1), 401 when
the signature is wrong, 413 when the body is too large, and 200 for a correctly signed body it
cannot understand, which it quarantines instead: redelivery could not fix it (invariant 6).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from chatproof.channels.errors import PayloadError, SignatureError
from chatproof.channels.whatsapp.signature import (
    SIGNATURE_HEADER,
    verify_secret_header,
    verify_signature,
)
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.config import WhatsAppSettings
from chatproof.services.group_commit import GroupCommitter
from chatproof.services.ingest import Received

logger = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp"
_SIGNATURE_KEY = SIGNATURE_HEADER.lower().encode("latin-1")


class BodyTooLarge(Exception):
    pass


async def read_limited(receive: Receive, headers: Mapping[bytes, bytes], limit: int) -> bytes:
    """The raw body, refusing to buffer more than ``limit`` bytes.

    Raises:
        BodyTooLarge: the declared or the received length exceeds ``limit``.
        ClientDisconnect: the platform hung up before the body was complete.
    """
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def check_sender(headers: Mapping[bytes, bytes], body: bytes, whatsapp: WhatsAppSettings) -> None:
    """Raises SignatureError unless the body comes from the configured platform."""
    if whatsapp.secret_header_name:
        value = headers.get(whatsapp.secret_header_name.lower().encode("latin-1"))
        verify_secret_header(
            value.decode("latin-1") if value is not None else None,
            whatsapp.secret_header_value,
            whatsapp.secret_header_name,
        )
        if not whatsapp.app_secret:
            return
    signature = headers.get(_SIGNATURE_KEY)
    verify_signature(
        body, signature.decode("latin-1") if signature is not None else None, whatsapp.app_secret
    )


async def handshake(request: Request) -> Response:
    whatsapp: WhatsAppSettings = request.app.state.settings.whatsapp
    query = request.query_params
    token = query.get("hub.verify_token", "")
    if (
        query.get("hub.mode") == "subscribe"
        and whatsapp.verify_token
        and hmac.compare_digest(token.encode(), whatsapp.verify_token.encode())
        and "hub.challenge" in query
    ):
        return PlainTextResponse(query["hub.challenge"])
    return PlainTextResponse("Forbidden", status_code=403)


class WebhookReceiver:
    """``POST /webhooks/whatsapp`` as a bare ASGI app: the platform posts every event here, so
    the app calls it ahead of FastAPI's middleware and routing (``web.app``), which cost more
    per request than checking, parsing and answering did (docs/performance.md)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        settings = state.settings
        committer: GroupCommitter[Received] = state.committer
        headers = dict(reversed(scope["headers"]))  # a repeated header: the first one counts
        limit = settings.server.max_body_bytes
        try:
            body = await read_limited(receive, headers, limit)
        except BodyTooLarge:
            await _answer(send, 413, f"body larger than {limit} bytes")
            return
        except ClientDisconnect:
            return
        try:
            check_sender(headers, body, settings.whatsapp)
        except SignatureError as exc:
            logger.warning("webhook refused: %s", exc)
            await _answer(send, 401, str(exc))
            return
        try:
            item = Received(body, batch=parse_webhook(body))
        except PayloadError as exc:
            logger.warning("webhook quarantined: %s", exc)
            item = Received(body, error=exc)
        try:
            await committer.submit(item)
        except Exception:
            logger.exception("webhook not stored; the platform will redeliver it")
            await _answer(send, 500, "not stored")
            return
        await _answer(send, 200, "OK")


receive = WebhookReceiver()


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
