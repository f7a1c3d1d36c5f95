"""Validation of what the business asks the platform to send.

Every request that the real Cloud API would refuse on the spot is refused here with code
100 and the field named in ``error_data.details`` (DESIGN invariant 6 for the client side:
a bad payload must be found in tests, not in production). Rules that the platform applies
later, after accepting the message (24-hour window, opt-out, reachability), live in
``rules.py`` and surface as ``failed`` status webhooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chatproof.emulator import graph_errors
from chatproof.emulator.errors import GraphError
from chatproof.emulator.interactive import check_interactive
from chatproof.emulator.media import MediaObject, MediaStore
from chatproof.emulator.templates import Template, TemplateRegistry, check_template_send

__all__ = [
    "MEDIA_LIMITS",
    "MEDIA_MIME_TYPES",
    "MEDIA_TYPES",
    "MESSAGE_TYPES",
    "UPLOAD_MIME_TYPES",
    "OutboundMessage",
    "normalize_number",
    "parse_send",
]

MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
MESSAGE_TYPES = frozenset(
    MEDIA_TYPES | {"text", "template", "interactive", "reaction", "location", "contacts"}
)
_CAPTIONED = frozenset({"image", "video", "document"})
_MEDIA_KEYS = {
    "image": {"id", "link", "caption"},
    "video": {"id", "link", "caption"},
    "document": {"id", "link", "caption", "filename"},
    "audio": {"id", "link"},
    "sticker": {"id", "link"},
}
_DOCUMENTS = (
    "text/plain",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
MEDIA_MIME_TYPES: dict[str, tuple[str, ...]] = {
    "image": ("image/jpeg", "image/png"),
    "video": ("video/mp4", "video/3gpp"),
    "audio": ("audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg", "audio/opus"),
    "document": _DOCUMENTS,
    "sticker": ("image/webp",),
}
"""What each media message type may carry (the Cloud API's supported media types)."""
UPLOAD_MIME_TYPES = tuple(dict.fromkeys(m for ms in MEDIA_MIME_TYPES.values() for m in ms))
_MB = 1024 * 1024
MEDIA_LIMITS = {
    "image": 5 * _MB,
    "video": 16 * _MB,
    "audio": 16 * _MB,
    "document": 100 * _MB,
    "sticker": 500 * 1024,
}
_NUMBER_NOISE = re.compile(r"[\s\-().]")
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_OPAQUE = 512


@dataclass(frozen=True)
class OutboundMessage:
    """A send request that passed the synchronous checks."""

    to: str
    wa_id: str
    type: str
    payload: dict[str, Any]
    template: Template | None
    context_message_id: str | None
    biz_opaque_callback_data: str | None
    media_link: str | None
    media: MediaObject | None = None
    """The uploaded media a message refers to by id."""
    media_problem: str | None = None
    """Why that media cannot go out as this type; the platform then fails the message
    (131053) in a status webhook instead of refusing the request."""


def _invalid(details: str) -> GraphError:
    return graph_errors.invalid_parameter(details)


def normalize_number(value: str) -> str | None:
    """The wa_id for a ``to`` value (``+49 151 1234-5678`` → ``4915112345678``)."""
    digits = _NUMBER_NOISE.sub("", value).removeprefix("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        return None
    return digits


def parse_send(
    payload: object, *, media: MediaStore, templates: TemplateRegistry
) -> OutboundMessage:
    """Check a ``POST …/messages`` body (not a mark-as-read request).

    Raises:
        GraphError: 100 naming the field, or a template error from ``check_template_send``.
    """
    if not isinstance(payload, dict):
        raise _invalid("The request body must be a JSON object.")
    if payload.get("messaging_product") != "whatsapp":
        raise _invalid("The parameter messaging_product is required and must be whatsapp.")
    recipient_type = payload.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise _invalid("Param recipient_type must be individual for this phone number.")
    to = payload.get("to")
    if not isinstance(to, str) or not to:
        raise _invalid("The parameter to is required.")
    wa_id = normalize_number(to)
    if wa_id is None:
        raise _invalid("Param to must be a phone number in international format.")
    kind = payload.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise _invalid("Param type must be one of " + ", ".join(sorted(MESSAGE_TYPES)) + ".")
    if kind not in payload:
        raise _invalid(f"The parameter {kind} is required.")
    context_id = _context(payload.get("context"))
    opaque = payload.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > _MAX_OPAQUE):
        raise _invalid(
            f"Param biz_opaque_callback_data must be a string of at most {_MAX_OPAQUE} characters."
        )
    template: Template | None = None
    link: str | None = None
    uploaded: MediaObject | None = None
    body = payload[kind]
    if kind == "text":
        _check_text(body)
    elif kind in MEDIA_TYPES:
        link, uploaded = _check_media(kind, body, media)
    elif kind == "template":
        template = check_template_send(templates, body)
    elif kind == "interactive":
        check_interactive(body)
    elif kind == "reaction":
        _check_reaction(body)
    elif kind == "location":
        _check_location(body)
    else:
        _check_contacts(body)
    return OutboundMessage(
        to=to,
        wa_id=wa_id,
        type=kind,
        payload=payload,
        template=template,
        context_message_id=context_id,
        biz_opaque_callback_data=opaque,
        media_link=link,
        media=uploaded,
        media_problem=_media_problem(kind, uploaded) if uploaded else None,
    )


def _media_problem(kind: str, media: MediaObject) -> str | None:
    if media.mime_type not in MEDIA_MIME_TYPES[kind]:
        return (
            f"Media of type {media.mime_type} cannot be sent as {kind}; "
            f"{kind} takes {', '.join(MEDIA_MIME_TYPES[kind])}."
        )
    limit = MEDIA_LIMITS[kind]
    if len(media.content) > limit:
        return f"The {kind} is {len(media.content)} bytes, over the {limit}-byte limit for {kind}."
    return None


def _context(context: object) -> str | None:
    if context is None:
        return None
    if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
        raise _invalid("The parameter context['message_id'] is required.")
    return str(context["message_id"])


def _check_text(text: object) -> None:
    if not isinstance(text, dict):
        raise _invalid("The parameter text is required.")
    body = text.get("body")
    if not isinstance(body, str) or not body.strip():
        raise _invalid("The parameter text['body'] is required.")
    if len(body) > _MAX_TEXT:
        raise _invalid(f"Param text['body'] must be at most {_MAX_TEXT} characters long.")
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise _invalid("Param text['preview_url'] must be a boolean.")


def _check_media(
    kind: str, obj: object, media: MediaStore
) -> tuple[str | None, MediaObject | None]:
    """The link, or the uploaded media the message names by id.

    Raises: GraphError 100 for an id that names no media of this number: Graph checks the
    id when the request arrives, and says so in these words."""
    if not isinstance(obj, dict):
        raise _invalid(f"The parameter {kind} is required.")
    unknown = sorted(obj.keys() - _MEDIA_KEYS[kind])
    if unknown:
        raise _invalid(f"Param {kind}['{unknown[0]}'] is not a valid parameter for {kind}.")
    has_id, has_link = "id" in obj, "link" in obj
    if has_id == has_link:
        raise _invalid(f"Param {kind} needs exactly one of {kind}['id'] and {kind}['link'].")
    if kind in _CAPTIONED and "caption" in obj:
        caption = obj["caption"]
        if not isinstance(caption, str) or len(caption) > _MAX_CAPTION:
            raise _invalid(
                f"Param {kind}['caption'] must be a string of at most {_MAX_CAPTION} characters."
            )
    if "filename" in obj and not isinstance(obj["filename"], str):
        raise _invalid(f"Param {kind}['filename'] must be a string.")
    if has_id:
        media_id = obj["id"]
        found = media.get(media_id) if isinstance(media_id, str) else None
        if found is None:
            raise _invalid(
                f"Param {kind}['id'] is not a valid whatsapp business account media attachment ID"
            )
        return None, found
    link = obj["link"]
    if not isinstance(link, str) or not link:
        raise _invalid(f"The parameter {kind}['link'] is required.")
    return link, None


def _check_reaction(reaction: object) -> None:
    if not isinstance(reaction, dict):
        raise _invalid("The parameter reaction is required.")
    if not isinstance(reaction.get("message_id"), str) or not reaction["message_id"]:
        raise _invalid("The parameter reaction['message_id'] is required.")
    if "emoji" in reaction and not isinstance(reaction["emoji"], str):
        raise _invalid("Param reaction['emoji'] must be a string.")


def _coordinate(value: object, limit: float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, int | float) and -limit <= value <= limit


def _check_location(location: object) -> None:
    if not isinstance(location, dict):
        raise _invalid("The parameter location is required.")
    if not _coordinate(location.get("latitude"), 90):
        raise _invalid("The parameter location['latitude'] is required and must be a number.")
    if not _coordinate(location.get("longitude"), 180):
        raise _invalid("The parameter location['longitude'] is required and must be a number.")
    for key in ("name", "address"):
        if key in location and not isinstance(location[key], str):
            raise _invalid(f"Param location['{key}'] must be a string.")


def _check_contacts(contacts: object) -> None:
    if not isinstance(contacts, list) or not contacts:
        raise _invalid("The parameter contacts is required.")
    for index, contact in enumerate(contacts):
        name = contact.get("name") if isinstance(contact, dict) else None
        if not isinstance(name, dict) or not isinstance(name.get("formatted_name"), str):
            raise _invalid(
                f"The parameter contacts[{index}]['name']['formatted_name'] is required."
            )
        phones = contact.get("phones", [])
        if not isinstance(phones, list) or not all(isinstance(p, dict) for p in phones):
            raise _invalid(f"Param contacts[{index}]['phones'] must be an array of objects.")
