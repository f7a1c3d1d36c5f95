"""Webhook bodies in the platform's envelope, encoded byte for byte like Meta's.

The envelope follows the OpenAPI ``WebhookPayload`` and Meta's samples. The encoding matters
as much as the shape: Meta sends compact JSON with non-ASCII characters escaped (``\\u00e4``)
and slashes escaped (``\\/``). A receiver that re-serialises the parsed body before checking
the signature fails against such bytes, so the emulator sends exactly them.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "encode_payload",
    "message_envelope",
    "preferences_envelope",
    "status_envelope",
]


def encode_payload(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def _envelope(waba_id: str, field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": field}]}],
    }


def _metadata(display_phone_number: str, phone_number_id: str) -> dict[str, str]:
    return {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}


def message_envelope(
    *,
    waba_id: str,
    display_phone_number: str,
    phone_number_id: str,
    wa_id: str,
    profile_name: str,
    message: dict[str, Any],
) -> dict[str, Any]:
    """One inbound message. System messages come without ``contacts``, like the platform's."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": _metadata(display_phone_number, phone_number_id),
    }
    if message.get("type") != "system":
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": wa_id}]
    value["messages"] = [message]
    return _envelope(waba_id, "messages", value)


def status_envelope(
    *,
    waba_id: str,
    display_phone_number: str,
    phone_number_id: str,
    status: dict[str, Any],
) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": _metadata(display_phone_number, phone_number_id),
        "statuses": [status],
    }
    return _envelope(waba_id, "messages", value)


def preferences_envelope(
    *,
    waba_id: str,
    display_phone_number: str,
    phone_number_id: str,
    wa_id: str,
    profile_name: str,
    value: str,
    timestamp: int,
) -> dict[str, Any]:
    """A marketing preference change (``stop``/``resume``); its timestamp is an integer."""
    detail = {
        "stop": "User requested to stop marketing messages",
        "resume": "User requested to resume marketing messages",
    }[value]
    body = {
        "messaging_product": "whatsapp",
        "metadata": _metadata(display_phone_number, phone_number_id),
        "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
        "user_preferences": [
            {
                "wa_id": wa_id,
                "detail": detail,
                "category": "marketing_messages",
                "value": value,
                "timestamp": timestamp,
            }
        ],
    }
    return _envelope(waba_id, "user_preferences", body)
