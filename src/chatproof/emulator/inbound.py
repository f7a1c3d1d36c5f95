"""Turning "this customer writes X" into the message object the platform would deliver.

Tests describe what a simulated customer does in the control API's words (a body without
``from``/``id``/``timestamp``, media as base64); this module fills in what WhatsApp adds:
media ids and hashes, the ``context`` of a reply or a button tap, the error of an
unsupported message. The result goes out unchanged in a ``messages`` webhook.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from chatproof.emulator import graph_errors
from chatproof.emulator.errors import ControlError
from chatproof.emulator.media import MediaObject

__all__ = ["INBOUND_TYPES", "MediaFactory", "build_inbound_message"]

MediaFactory = Callable[[bytes, str, str | None], MediaObject]

_MEDIA_DEFAULTS: dict[str, tuple[str, bytes]] = {
    "image": ("image/jpeg", b"\xff\xd8\xff\xe0chatproof-emulator-image\xff\xd9"),
    "video": ("video/mp4", b"\x00\x00\x00\x18ftypmp42chatproof-emulator-video"),
    "audio": ("audio/mpeg", b"ID3chatproof-emulator-audio"),
    "document": ("application/pdf", b"%PDF-1.4\n% chatproof emulator document\n%%EOF\n"),
    "sticker": ("image/webp", b"RIFF\x00\x00\x00\x00WEBPchatproof-emulator-sticker"),
}
_VOICE_MIME = "audio/ogg; codecs=opus"
_REPLY_TYPES = frozenset({"button", "interactive"})
_PASS_THROUGH = frozenset(
    {"text", "reaction", "location", "contacts", "interactive", "button", "order", "system"}
    | {"revoke"}
)
INBOUND_TYPES = frozenset(_MEDIA_DEFAULTS) | _PASS_THROUGH | {"edit", "unsupported"}


def _object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ControlError(f"{field} must be an object", field=field)
    return value


def _media_fields(
    kind: str, obj: dict[str, Any], media: object, created: list[MediaObject], make: MediaFactory
) -> dict[str, Any]:
    spec = {} if media is None else _object(media, "media")
    default_mime, default_bytes = _MEDIA_DEFAULTS[kind]
    if kind == "audio" and obj.get("voice"):
        default_mime = _VOICE_MIME
    content = default_bytes
    if "content_base64" in spec:
        try:
            content = base64.b64decode(str(spec["content_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(
                "media.content_base64 is not base64", field="media.content_base64"
            ) from None
    mime = spec.get("mime_type", default_mime)
    if not isinstance(mime, str) or "/" not in mime:
        raise ControlError("media.mime_type must be a MIME type", field="media.mime_type")
    filename = spec.get("filename")
    if kind == "document" and filename is None:
        filename = obj.get("filename", "document.pdf")
    stored = make(content, mime, filename)
    created.append(stored)
    fields: dict[str, Any] = {
        **obj,
        "mime_type": stored.mime_type,
        "sha256": stored.sha256_base64,
        "id": stored.id,
    }
    if kind == "audio":
        fields["voice"] = bool(obj.get("voice", False))
    if kind == "sticker":
        fields["animated"] = bool(obj.get("animated", False))
    if kind == "document":
        fields["filename"] = filename
    return fields


def _content(
    body: dict[str, Any], created: list[MediaObject], make: MediaFactory
) -> tuple[str, dict[str, Any]]:
    kind = body.get("type")
    if kind not in INBOUND_TYPES:
        raise ControlError(f"type must be one of {sorted(INBOUND_TYPES)}", field="type")
    content: dict[str, Any] = {}
    if kind in _MEDIA_DEFAULTS:
        obj = _object(body.get(kind, {}), kind)
        content[kind] = _media_fields(kind, obj, body.get("media"), created, make)
    elif kind == "unsupported":
        content["errors"] = [graph_errors.status_error(131051)]
        if "unsupported" in body:
            content["unsupported"] = _object(body["unsupported"], "unsupported")
    elif kind == "edit":
        edit = _object(body.get("edit"), "edit")
        if not isinstance(edit.get("original_message_id"), str):
            raise ControlError(
                "edit.original_message_id is required", field="edit.original_message_id"
            )
        nested = _object(edit.get("message"), "edit.message")
        nested_body = {**nested, "media": body.get("media")} if "media" in body else nested
        nested_kind, nested_content = _content(nested_body, created, make)
        content["edit"] = {
            "original_message_id": edit["original_message_id"],
            "message": {"type": nested_kind, **nested_content},
        }
    elif kind == "contacts":
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise ControlError("contacts must be a non-empty list", field="contacts")
        content["contacts"] = contacts
    else:
        content[kind] = _object(body.get(kind), kind)
        _check_pass_through(kind, content[kind])
    return str(kind), content


def _check_pass_through(kind: str, obj: dict[str, Any]) -> None:
    required = {
        "text": ("body",),
        "reaction": ("message_id",),
        "location": ("latitude", "longitude"),
        "interactive": ("type",),
        "button": ("payload", "text"),
        "system": ("body", "type"),
        "revoke": ("original_message_id",),
        "order": ("product_items",),
    }.get(kind, ())
    for key in required:
        if key not in obj:
            raise ControlError(f"{kind}.{key} is required", field=f"{kind}.{key}")
    if kind == "interactive":
        reply_type = obj["type"]
        if reply_type not in ("button_reply", "list_reply", "nfm_reply"):
            raise ControlError(
                "interactive.type must be button_reply, list_reply or nfm_reply",
                field="interactive.type",
            )
        _object(obj.get(reply_type), f"interactive.{reply_type}")


def build_inbound_message(
    body: object,
    *,
    wa_id: str,
    wamid: str,
    timestamp: int,
    business_number: str,
    last_business_message: str | None,
    make_media: MediaFactory,
) -> tuple[dict[str, Any], list[MediaObject]]:
    """The webhook message object for what a customer sends, and the media it carries.

    The media objects are returned, not stored, so a refused body leaves nothing behind.

    Raises:
        ControlError: naming the field of ``body`` that cannot be turned into a message.
    """
    spec = _object(body, "body")
    for forbidden in ("from", "id", "timestamp"):
        if forbidden in spec:
            raise ControlError(f"{forbidden} is set by the emulator", field=forbidden)
    created: list[MediaObject] = []
    kind, content = _content(spec, created, make_media)
    message: dict[str, Any] = {}
    context = spec.get("context")
    if context is not None:
        ctx = dict(_object(context, "context"))
        replied = ctx.pop("message_id", None)
        if replied is not None:
            ctx = {"from": business_number, "id": str(replied), **ctx}
        message["context"] = ctx
    elif kind in _REPLY_TYPES and last_business_message is not None:
        message["context"] = {"from": business_number, "id": last_business_message}
    message.update({"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": kind})
    message.update(content)
    if "referral" in spec:
        message["referral"] = _object(spec["referral"], "referral")
    return message, created
