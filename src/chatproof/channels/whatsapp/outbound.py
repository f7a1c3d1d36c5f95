"""Request bodies for ``POST /messages``, built by pure functions.

The same body serves Meta and 360dialog (reference §5), so the outbox can store exactly what
will be sent and the archive can record it (invariant 2). Every documented limit is checked
here, before anything leaves the process: a bad request gets a ``MessageValidationError``
naming the field and changes nothing (invariant 6). Field names and limits follow Meta's
OpenAPI spec (``business-messaging-api_v23.0.yaml``, schema ``Message``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chatproof.channels.whatsapp.errors import MessageValidationError

__all__ = [
    "MAX_BUTTONS",
    "MAX_LIST_ROWS",
    "MAX_LIST_SECTIONS",
    "JsonObject",
    "ListRow",
    "ListSection",
    "MediaKind",
    "body_component",
    "buttons_message",
    "currency_param",
    "date_time_param",
    "header_component",
    "list_message",
    "location_message",
    "media_header",
    "media_message",
    "media_param",
    "quick_reply_button",
    "reaction_message",
    "read_receipt",
    "template_message",
    "text_message",
    "text_param",
    "url_button",
]

JsonObject = dict[str, Any]
MediaKind = Literal["image", "video", "audio", "document", "sticker"]

MAX_TEXT_BODY = 4096
MAX_CAPTION = 1024
MAX_INTERACTIVE_BODY = 1024
MAX_HEADER_TEXT = 60
MAX_FOOTER = 60
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_BUTTON = 20
MAX_LIST_SECTIONS = 10
MAX_LIST_ROWS = 10
MAX_SECTION_TITLE = 24
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_CALLBACK_DATA = 512
MAX_TEMPLATE_BUTTON_INDEX = 9

MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "video", "audio", "document", "sticker")
_CAPTIONED = frozenset({"image", "video", "document"})
_RECIPIENT = re.compile(r"\+?[0-9]{5,15}")


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class ListSection:
    title: str | None
    rows: Sequence[ListRow]


def _require_text(field: str, value: object, limit: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MessageValidationError(field, "must be a non-empty string")
    if limit is not None and len(value) > limit:
        raise MessageValidationError(field, f"must be at most {limit} characters, got {len(value)}")
    return value


def _optional_text(field: str, value: str | None, limit: int) -> str | None:
    return None if value is None else _require_text(field, value, limit)


def _envelope(
    to: str,
    kind: str,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    if not isinstance(to, str) or not _RECIPIENT.fullmatch(to):
        raise MessageValidationError("to", "must be a phone number of 5 to 15 digits")
    payload: JsonObject = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }
    if reply_to is not None:
        payload["context"] = {"message_id": _require_text("context.message_id", reply_to)}
    if biz_opaque_callback_data is not None:
        payload["biz_opaque_callback_data"] = _require_text(
            "biz_opaque_callback_data", biz_opaque_callback_data, MAX_CALLBACK_DATA
        )
    return payload


def _media_object(field: str, *, media_id: str | None, link: str | None) -> JsonObject:
    if (media_id is None) == (link is None):
        raise MessageValidationError(field, "exactly one of media id and link is required")
    if media_id is not None:
        return {"id": _require_text(f"{field}.id", media_id)}
    link = _require_text(f"{field}.link", link)
    if not link.startswith(("https://", "http://")):
        raise MessageValidationError(f"{field}.link", "must be an http(s) URL")
    return {"link": link}


def text_message(
    to: str,
    body: str,
    *,
    preview_url: bool = False,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    payload = _envelope(to, "text", reply_to, biz_opaque_callback_data)
    payload["text"] = {
        "body": _require_text("text.body", body, MAX_TEXT_BODY),
        "preview_url": bool(preview_url),
    }
    return payload


def media_message(
    to: str,
    kind: MediaKind,
    *,
    media_id: str | None = None,
    link: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    """An image, video, audio, document or sticker, by uploaded media id or by public link."""
    if kind not in MEDIA_KINDS:
        raise MessageValidationError("type", f"must be one of {', '.join(MEDIA_KINDS)}")
    payload = _envelope(to, kind, reply_to, biz_opaque_callback_data)
    media = _media_object(kind, media_id=media_id, link=link)
    if caption is not None:
        if kind not in _CAPTIONED:
            raise MessageValidationError(f"{kind}.caption", f"is not allowed for {kind}")
        media["caption"] = _require_text(f"{kind}.caption", caption, MAX_CAPTION)
    if filename is not None:
        if kind != "document":
            raise MessageValidationError(f"{kind}.filename", "is only allowed for documents")
        media["filename"] = _require_text("document.filename", filename, 240)
    payload[kind] = media
    return payload


def reaction_message(to: str, message_id: str, emoji: str) -> JsonObject:
    """React to a message; an empty ``emoji`` removes an earlier reaction."""
    payload = _envelope(to, "reaction")
    if not isinstance(emoji, str):
        raise MessageValidationError("reaction.emoji", "must be a string")
    payload["reaction"] = {
        "message_id": _require_text("reaction.message_id", message_id),
        "emoji": emoji,
    }
    return payload


def location_message(
    to: str,
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    payload = _envelope(to, "location", reply_to, biz_opaque_callback_data)
    if isinstance(latitude, bool) or not isinstance(latitude, int | float):
        raise MessageValidationError("location.latitude", "must be a number")
    if isinstance(longitude, bool) or not isinstance(longitude, int | float):
        raise MessageValidationError("location.longitude", "must be a number")
    if not -90 <= latitude <= 90:
        raise MessageValidationError("location.latitude", "must be between -90 and 90")
    if not -180 <= longitude <= 180:
        raise MessageValidationError("location.longitude", "must be between -180 and 180")
    location: JsonObject = {"latitude": latitude, "longitude": longitude}
    if name is not None:
        location["name"] = _require_text("location.name", name, 1000)
    if address is not None:
        location["address"] = _require_text("location.address", address, 1000)
    payload["location"] = location
    return payload


def read_receipt(message_id: str, *, typing_indicator: bool = False) -> JsonObject:
    """Mark an inbound message as read, optionally showing "typing…" to the customer."""
    payload: JsonObject = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": _require_text("message_id", message_id),
    }
    if typing_indicator:
        payload["typing_indicator"] = {"type": "text"}
    return payload


# Interactive messages


def media_header(
    kind: Literal["image", "video", "document"],
    *,
    media_id: str | None = None,
    link: str | None = None,
) -> JsonObject:
    """A media header for an interactive message; pass a plain string for a text header."""
    if kind not in ("image", "video", "document"):
        raise MessageValidationError("interactive.header.type", "must be image, video or document")
    return {
        "type": kind,
        kind: _media_object(f"interactive.header.{kind}", media_id=media_id, link=link),
    }


def _interactive(
    to: str,
    kind: str,
    body: str,
    action: JsonObject,
    header: str | JsonObject | None,
    footer: str | None,
    reply_to: str | None,
    biz_opaque_callback_data: str | None,
) -> JsonObject:
    payload = _envelope(to, "interactive", reply_to, biz_opaque_callback_data)
    interactive: JsonObject = {"type": kind}
    if isinstance(header, str):
        text = _require_text("interactive.header.text", header, MAX_HEADER_TEXT)
        interactive["header"] = {"type": "text", "text": text}
    elif header is not None:
        if header.get("type") not in ("image", "video", "document", "text"):
            raise MessageValidationError("interactive.header.type", "is not a known header type")
        interactive["header"] = dict(header)
    interactive["body"] = {
        "text": _require_text("interactive.body.text", body, MAX_INTERACTIVE_BODY)
    }
    if footer is not None:
        interactive["footer"] = {
            "text": _require_text("interactive.footer.text", footer, MAX_FOOTER)
        }
    interactive["action"] = action
    payload["interactive"] = interactive
    return payload


def _check_unique(field: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise MessageValidationError(f"{field}[{index}]", f"duplicates {value!r}")
        seen.add(value)


def buttons_message(
    to: str,
    body: str,
    buttons: Sequence[tuple[str, str]],
    *,
    header: str | JsonObject | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    """Up to three reply buttons, each given as ``(id, title)``."""
    field = "interactive.action.buttons"
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MessageValidationError(field, f"must hold 1 to {MAX_BUTTONS} buttons")
    items = []
    for index, (button_id, title) in enumerate(buttons):
        items.append(
            {
                "type": "reply",
                "reply": {
                    "id": _require_text(f"{field}[{index}].reply.id", button_id, MAX_BUTTON_ID),
                    "title": _require_text(
                        f"{field}[{index}].reply.title", title, MAX_BUTTON_TITLE
                    ),
                },
            }
        )
    _check_unique(f"{field}.reply.id", (b[0] for b in buttons))
    _check_unique(f"{field}.reply.title", (b[1] for b in buttons))
    action = {"buttons": items}
    return _interactive(
        to, "button", body, action, header, footer, reply_to, biz_opaque_callback_data
    )


def list_message(
    to: str,
    body: str,
    button: str,
    sections: Sequence[ListSection],
    *,
    header: str | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    """A list of up to ten rows in up to ten sections, opened by ``button``."""
    field = "interactive.action.sections"
    if not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        raise MessageValidationError(field, f"must hold 1 to {MAX_LIST_SECTIONS} sections")
    total_rows = sum(len(section.rows) for section in sections)
    if total_rows > MAX_LIST_ROWS:
        raise MessageValidationError(
            field, f"may hold at most {MAX_LIST_ROWS} rows in total, got {total_rows}"
        )
    built = []
    for s_index, section in enumerate(sections):
        s_field = f"{field}[{s_index}]"
        item: JsonObject = {}
        if section.title is not None:
            item["title"] = _require_text(f"{s_field}.title", section.title, MAX_SECTION_TITLE)
        elif len(sections) > 1:
            raise MessageValidationError(f"{s_field}.title", "is required with several sections")
        if not section.rows:
            raise MessageValidationError(f"{s_field}.rows", "must hold at least one row")
        rows = []
        for r_index, row in enumerate(section.rows):
            r_field = f"{s_field}.rows[{r_index}]"
            built_row: JsonObject = {
                "id": _require_text(f"{r_field}.id", row.id, MAX_ROW_ID),
                "title": _require_text(f"{r_field}.title", row.title, MAX_ROW_TITLE),
            }
            if row.description is not None:
                built_row["description"] = _require_text(
                    f"{r_field}.description", row.description, MAX_ROW_DESCRIPTION
                )
            rows.append(built_row)
        item["rows"] = rows
        built.append(item)
    _check_unique(f"{field}.rows.id", (row.id for s in sections for row in s.rows))
    action = {
        "button": _require_text("interactive.action.button", button, MAX_LIST_BUTTON),
        "sections": built,
    }
    return _interactive(
        to, "list", body, action, header, footer, reply_to, biz_opaque_callback_data
    )


# Templates: parameters and components


def text_param(text: str, *, name: str | None = None) -> JsonObject:
    """A text parameter; ``name`` is the placeholder of a template with named parameters."""
    param: JsonObject = {"type": "text", "text": _require_text("parameters.text", text, 32768)}
    if name is not None:
        param["parameter_name"] = _require_text("parameters.parameter_name", name)
    return param


def currency_param(fallback_value: str, code: str, amount_1000: int) -> JsonObject:
    """An amount in ``code`` (ISO 4217) times 1000, e.g. 100990 for 100.99."""
    if not re.fullmatch(r"[A-Z]{3}", code or ""):
        raise MessageValidationError("parameters.currency.code", "must be an ISO 4217 code")
    if isinstance(amount_1000, bool) or not isinstance(amount_1000, int):
        raise MessageValidationError("parameters.currency.amount_1000", "must be an integer")
    return {
        "type": "currency",
        "currency": {
            "fallback_value": _require_text("parameters.currency.fallback_value", fallback_value),
            "code": code,
            "amount_1000": amount_1000,
        },
    }


def date_time_param(fallback_value: str) -> JsonObject:
    """A date/time parameter; the Cloud API always shows ``fallback_value``."""
    return {
        "type": "date_time",
        "date_time": {
            "fallback_value": _require_text("parameters.date_time.fallback_value", fallback_value)
        },
    }


def media_param(
    kind: Literal["image", "video", "document"],
    *,
    media_id: str | None = None,
    link: str | None = None,
    filename: str | None = None,
) -> JsonObject:
    """A media parameter for a template header."""
    if kind not in ("image", "video", "document"):
        raise MessageValidationError("parameters.type", "must be image, video or document")
    media = _media_object(f"parameters.{kind}", media_id=media_id, link=link)
    if filename is not None:
        if kind != "document":
            raise MessageValidationError(f"parameters.{kind}.filename", "is only for documents")
        media["filename"] = _require_text("parameters.document.filename", filename, 240)
    return {"type": kind, kind: media}


def header_component(param: JsonObject) -> JsonObject:
    """The header of a template: one text, image, video or document parameter."""
    return {"type": "header", "parameters": [param]}


def body_component(*params: JsonObject) -> JsonObject:
    return {"type": "body", "parameters": list(params)}


def _button_index(index: int) -> str:
    if isinstance(index, bool) or not 0 <= index <= MAX_TEMPLATE_BUTTON_INDEX:
        raise MessageValidationError("components.index", "must be between 0 and 9")
    return str(index)


def quick_reply_button(index: int, payload: str) -> JsonObject:
    """The payload returned when the customer taps quick-reply button ``index``."""
    return {
        "type": "button",
        "sub_type": "quick_reply",
        "index": _button_index(index),
        "parameters": [
            {"type": "payload", "payload": _require_text("parameters.payload", payload, 256)}
        ],
    }


def url_button(index: int, text: str) -> JsonObject:
    """The suffix appended to the dynamic URL of button ``index``."""
    return {
        "type": "button",
        "sub_type": "url",
        "index": _button_index(index),
        "parameters": [{"type": "text", "text": _require_text("parameters.text", text, 2000)}],
    }


def template_message(
    to: str,
    name: str,
    language: str,
    components: Sequence[JsonObject] = (),
    *,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> JsonObject:
    """An approved template, the only kind allowed outside the 24-hour window."""
    payload = _envelope(to, "template", reply_to, biz_opaque_callback_data)
    template: JsonObject = {
        "name": _require_text("template.name", name, 512),
        "language": {
            "policy": "deterministic",
            "code": _require_text("template.language", language),
        },
    }
    if components:
        for index, component in enumerate(components):
            if component.get("type") not in ("header", "body", "button"):
                raise MessageValidationError(
                    f"template.components[{index}].type", "must be header, body or button"
                )
        template["components"] = [dict(c) for c in components]
    payload["template"] = template
    return payload
