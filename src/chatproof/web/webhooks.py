"""``/webhooks/whatsapp``: the subscription handshake and signed event delivery.

The POST handler answers 200 only once the events are committed (DESIGN invariant 1), 401 when
the signature is wrong, 413 when the body is too large, and 200 for a correctly signed body it
cannot understand, which it quarantines instead: redelivery could not fix it (invariant 6).
"""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

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


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing to buffer more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def check_sender(request: Request, body: bytes, whatsapp: WhatsAppSettings) -> None:
    """Raises SignatureError unless the body comes from the configured platform."""
    if whatsapp.secret_header_name:
        verify_secret_header(
            request.headers.get(whatsapp.secret_header_name),
            whatsapp.secret_header_value,
            whatsapp.secret_header_name,
        )
        if not whatsapp.app_secret:
            return
    verify_signature(body, request.headers.get(SIGNATURE_HEADER), whatsapp.app_secret)


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


async def receive(request: Request) -> Response:
    settings = request.app.state.settings
    committer: GroupCommitter[Received] = request.app.state.committer
    try:
        body = await read_limited(request, settings.server.max_body_bytes)
    except BodyTooLarge:
        return PlainTextResponse(
            f"body larger than {settings.server.max_body_bytes} bytes", status_code=413
        )
    try:
        check_sender(request, body, settings.whatsapp)
    except SignatureError as exc:
        logger.warning("webhook refused: %s", exc)
        return PlainTextResponse(str(exc), status_code=401)
    try:
        item = Received(body, batch=parse_webhook(body))
    except PayloadError as exc:
        logger.warning("webhook quarantined: %s", exc)
        item = Received(body, error=exc)
    try:
        await committer.submit(item)
    except Exception:
        logger.exception("webhook not stored; the platform will redeliver it")
        return PlainTextResponse("not stored", status_code=500)
    return PlainTextResponse("OK")
