"""Minimal webhook bodies in the platform's envelope, for tests that feed ingest directly."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

NUMBER_ID = "106540352242922"


def _envelope(value: dict[str, Any], field: str = "messages") -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID},
        **value,
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}],
    }
    return json.dumps(body).encode()


def inbound(wa_id: str, wamid: str, at: datetime, text: str = "", **message: Any) -> bytes:
    item: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(at.timestamp()))}
    if text:
        item |= {"type": "text", "text": {"body": text}}
    item |= message
    return _envelope(
        {"contacts": [{"profile": {"name": "Anna"}, "wa_id": wa_id}], "messages": [item]}
    )


def status(
    wamid: str,
    state: str,
    wa_id: str,
    at: datetime,
    *,
    code: int | None = None,
    callback: str | None = None,
) -> bytes:
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": wa_id,
    }
    if callback is not None:
        item["biz_opaque_callback_data"] = callback
    if code is not None:
        item["errors"] = [{"code": code, "title": "error", "message": "error"}]
    return _envelope({"statuses": [item]})


def preference(wa_id: str, value: str, at: datetime) -> bytes:
    item = {
        "wa_id": wa_id,
        "detail": "",
        "category": "marketing_messages",
        "value": value,
        "timestamp": int(at.timestamp()),
    }
    return _envelope({"user_preferences": [item]}, "user_preferences")
