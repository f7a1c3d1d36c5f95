"""Parse a WhatsApp webhook body into domain values.

The parser is strict about the little it needs (ids, senders, types, timestamps) and lenient
about everything else: unknown message types, fields and change kinds become values that
carry their raw JSON, so nothing the platform signed is dropped (DESIGN invariants 2 and 6).
A body it cannot understand raises ``PayloadError`` naming the offending field; the caller
quarantines it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from chatproof.channels.errors import PayloadError
from chatproof.domain.messages import (
    Contact,
    Direction,
    MediaRef,
    Message,
    PlatformError,
    PlatformEvent,
    StatusUpdate,
    WebhookBatch,
)

WHATSAPP_OBJECT = "whatsapp_business_account"
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
_SLIM = {"separators": (",", ":"), "ensure_ascii": False}
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # made once, not per call


def parse_webhook(body: bytes) -> WebhookBatch:
    """All contacts, messages, statuses and other events of one webhook body.

    Raises:
        PayloadError: the body is not JSON or not shaped like a WhatsApp webhook.
    """
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"not valid JSON ({exc})") from None
    obj = _mapping(doc, "")
    if obj.get("object") != WHATSAPP_OBJECT:
        raise PayloadError(f"expected {WHATSAPP_OBJECT!r}, got {obj.get('object')!r}", "object")
    contacts: list[Contact] = []
    messages: list[Message] = []
    statuses: list[StatusUpdate] = []
    events: list[PlatformEvent] = []
    for e, entry in _items(obj, "entry", ""):
        for path, change in _items(entry, "changes", e):
            field = _text(change, "field", path)
            value = _mapping(change.get("value"), f"{path}.value")
            parser = _CHANGE_PARSERS.get(field, _parse_other_change)
            parser(
                _Change(field, value, f"{path}.value", entry), contacts, messages, statuses, events
            )
    return WebhookBatch(tuple(contacts), tuple(messages), tuple(statuses), tuple(events))


class _Change:
    __slots__ = ("entry", "field", "number_id", "path", "value")

    def __init__(self, field: str, value: Mapping[str, Any], path: str, entry: Mapping) -> None:
        self.field = field
        self.value = value
        self.path = path
        self.entry = entry
        metadata = value.get("metadata")
        self.number_id = (
            str(metadata.get("phone_number_id", "")) if isinstance(metadata, dict) else ""
        )


def _parse_messages_change(
    change: _Change,
    contacts: list[Contact],
    messages: list[Message],
    statuses: list[StatusUpdate],
    events: list[PlatformEvent],
) -> None:
    value, path = change.value, change.path
    contacts.extend(_parse_contacts(value, path))
    for p, item in _items(value, "messages", path):
        messages.append(_parse_message(item, p, Direction.INBOUND, change.number_id))
    for p, item in _items(value, "message_echoes", path):
        messages.append(_parse_message(item, p, Direction.OUTBOUND, change.number_id))
    for p, item in _items(value, "statuses", path):
        statuses.append(_parse_status(item, p, change.number_id))
    for _, item in _items(value, "errors", path):
        events.append(_event(change, "error", item))
    for p, item in _items(value, "user_preferences", path):
        kind = f"marketing_{_text(item, 'value', p).lower()}"
        customer = str(item.get("wa_id", ""))
        events.append(_event(change, kind, item, customer, _timestamp(item, p, required=False)))


def _parse_calls_change(
    change: _Change,
    contacts: list[Contact],
    messages: list[Message],
    statuses: list[StatusUpdate],
    events: list[PlatformEvent],
) -> None:
    # Call events share the `statuses` key with message statuses but describe calls.
    contacts.extend(_parse_contacts(change.value, change.path))
    for key in ("calls", "statuses", "errors"):
        for p, item in _items(change.value, key, change.path):
            kind = f"call_{item.get('event') or item.get('status') or key}".lower()
            customer = str(item.get("from") or item.get("recipient_id") or "")
            events.append(_event(change, kind, item, customer, _timestamp(item, p, required=False)))


def _parse_other_change(
    change: _Change,
    contacts: list[Contact],
    messages: list[Message],
    statuses: list[StatusUpdate],
    events: list[PlatformEvent],
) -> None:
    kind = str(change.value.get("event") or change.field).lower()
    at = change.entry.get("time")
    when = datetime.fromtimestamp(at, UTC) if isinstance(at, int) else None
    events.append(_event(change, kind, {"entry_time": at, "value": change.value}, at=when))


_CHANGE_PARSERS = {
    "messages": _parse_messages_change,
    "smb_message_echoes": _parse_messages_change,
    "user_preferences": _parse_messages_change,
    "calls": _parse_calls_change,
}


def _parse_contacts(value: Mapping[str, Any], path: str) -> Iterator[Contact]:
    for p, item in _items(value, "contacts", path):
        profile = item.get("profile")
        name = profile.get("name", "") if isinstance(profile, dict) else ""
        wa_id = item.get("wa_id")
        if not isinstance(wa_id, str):
            raise PayloadError("expected the customer's wa_id as text", f"{p}.wa_id")
        yield Contact(wa_id=wa_id, name=str(name), user_id=str(item.get("user_id", "")))


def _parse_message(
    item: Mapping[str, Any], path: str, direction: Direction, number_id: str
) -> Message:
    platform_id = _text(item, "id", path)
    msg_type = _text(item, "type", path)
    customer = _text(item, "from" if direction is Direction.INBOUND else "to", path)
    text, media, related = _content(msg_type, item)
    context = item.get("context")
    return Message(
        platform_id=platform_id,
        direction=direction,
        customer_wa_id=customer,
        business_number_id=number_id,
        sent_at=_timestamp(item, path),
        type=msg_type,
        text=text,
        media=media,
        context_id=str(context.get("id", "")) if isinstance(context, dict) else "",
        related_id=related,
        errors=_errors(item),
        raw=_ENCODER.encode(item).encode(),
    )


def _content(msg_type: str, item: Mapping[str, Any]) -> tuple[str, MediaRef | None, str]:
    """(searchable text, media, id of the message it refers to) for one message object."""
    part = item.get(msg_type)
    part = part if isinstance(part, dict) else {}
    if msg_type == "text":
        return str(part.get("body", "")), None, ""
    if msg_type in MEDIA_TYPES:
        media = None
        if isinstance(part.get("id"), str):
            media = MediaRef(
                media_id=part["id"],
                mime_type=str(part.get("mime_type", "")),
                sha256=str(part.get("sha256", "")),
                filename=str(part.get("filename", "")),
                voice=bool(part.get("voice", False)),
                animated=bool(part.get("animated", False)),
            )
        return str(part.get("caption", "")), media, ""
    if msg_type == "location":
        label = ", ".join(str(part[k]) for k in ("name", "address") if part.get(k))
        return label or f"{part.get('latitude')}, {part.get('longitude')}", None, ""
    if msg_type == "contacts":
        shared = item.get("contacts")
        names = [
            str(c.get("name", {}).get("formatted_name", ""))
            for c in (shared if isinstance(shared, list) else [])
            if isinstance(c, dict) and isinstance(c.get("name"), dict)
        ]
        return ", ".join(n for n in names if n), None, ""
    if msg_type == "interactive":
        reply = part.get(str(part.get("type", ""))) or {}
        if isinstance(reply, dict):
            return str(reply.get("title") or reply.get("body") or reply.get("name") or ""), None, ""
        return "", None, ""
    if msg_type == "button":
        return str(part.get("text", "")), None, ""
    if msg_type == "reaction":
        return str(part.get("emoji", "")), None, str(part.get("message_id", ""))
    if msg_type in ("order", "system"):
        return str(part.get("text") or part.get("body") or ""), None, ""
    if msg_type == "edit":
        inner = part.get("message")
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            text, media, _ = _content(inner["type"], inner)
            return text, media, str(part.get("original_message_id", ""))
        return "", None, str(part.get("original_message_id", ""))
    if msg_type == "revoke":
        return "", None, str(part.get("original_message_id", ""))
    return "", None, ""


def _parse_status(item: Mapping[str, Any], path: str, number_id: str) -> StatusUpdate:
    pricing = item.get("pricing")
    pricing = pricing if isinstance(pricing, dict) else {}
    billable = pricing.get("billable")
    return StatusUpdate(
        platform_id=_text(item, "id", path),
        status=_text(item, "status", path),
        customer_wa_id=str(item.get("recipient_id", "")),
        business_number_id=number_id,
        at=_timestamp(item, path),
        errors=_errors(item),
        pricing_category=str(pricing.get("category", "")),
        billable=billable if isinstance(billable, bool) else None,
        callback_data=str(item.get("biz_opaque_callback_data", "")),
        raw=_ENCODER.encode(item).encode(),
    )


def _errors(item: Mapping[str, Any]) -> tuple[PlatformError, ...]:
    found = item.get("errors")
    if not isinstance(found, list):
        return ()
    return tuple(parse_platform_error(e) for e in found if isinstance(e, dict))


def parse_platform_error(obj: Mapping[str, Any]) -> PlatformError:
    """A platform error object (``{code, title, message, error_data{details}, href}``)."""
    code = obj.get("code")
    data = obj.get("error_data")
    return PlatformError(
        code=code if isinstance(code, int) else None,
        title=str(obj.get("title", "")),
        message=str(obj.get("message", "")),
        details=str(data.get("details", "")) if isinstance(data, dict) else "",
        href=str(obj.get("href", "")),
    )


def _event(
    change: _Change,
    kind: str,
    item: Mapping[str, Any],
    customer: str = "",
    at: datetime | None = None,
) -> PlatformEvent:
    raw = json.dumps(item, sort_keys=True, **_SLIM).encode()
    key = hashlib.sha256(f"{change.entry.get('id')}\x00{change.field}\x00".encode() + raw)
    return PlatformEvent(
        field=change.field,
        kind=kind,
        key=key.hexdigest(),
        customer_wa_id=customer,
        business_number_id=change.number_id,
        at=at,
        raw=raw,
    )


def _timestamp(item: Mapping[str, Any], path: str, *, required: bool = True) -> datetime | None:
    value = item.get("timestamp")
    if value is None and not required:
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        if not required:
            return None
        raise PayloadError(f"expected Unix seconds, got {value!r}", f"{path}.timestamp") from None


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"expected an object, got {type(value).__name__}", path or "(body)")
    return value


def _text(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError("required text is missing", f"{path}.{key}".lstrip("."))
    return value


def _items(obj: Mapping[str, Any], key: str, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    value = obj.get(key)
    if value is None:
        return
    where = f"{path}.{key}".lstrip(".")
    if not isinstance(value, list):
        raise PayloadError(f"expected a list, got {type(value).__name__}", where)
    for i, item in enumerate(value):
        yield f"{where}[{i}]", _mapping(item, f"{where}[{i}]")
