"""How each message type the platform delivers is shown in a thread: the fields a template
needs, taken from the stored message and its verbatim platform object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chatproof.domain.inbox import MessageView
from chatproof.domain.retry import reason_for

INLINE_IMAGES = ("image", "sticker")
PLAYABLE = ("audio", "voice")


@dataclass(frozen=True)
class Bubble:
    id: int
    direction: str
    type: str
    text: str
    message: MessageView
    media_url: str = ""
    media_state: str = ""
    filename: str = ""
    latitude: float | None = None
    longitude: float | None = None
    place: str = ""
    contacts: tuple[tuple[str, str], ...] = ()
    emoji: str = ""
    choice: str = ""
    erased: bool = False
    failure: tuple[str, ...] = ()
    """Why sending failed, in German and English, with the platform's code."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def map_url(self) -> str:
        if self.latitude is None or self.longitude is None:
            return ""
        return (
            "https://www.openstreetmap.org/?mlat="
            f"{self.latitude}&mlon={self.longitude}#map=17/{self.latitude}/{self.longitude}"
        )


def bubble(message: MessageView) -> Bubble:
    try:
        raw = json.loads(message.raw or b"{}")
    except ValueError:
        raw = {}
    body = raw.get(message.type) if isinstance(raw.get(message.type), dict) else {}
    kind = message.type
    values: dict[str, Any] = {}
    if message.media is not None:
        values["media_url"] = f"/api/messages/{message.id}/media"
        values["media_state"] = message.media.state
        values["filename"] = message.media.filename or body.get("filename", "")
        if kind == "audio" and body.get("voice"):
            kind = "voice"
    if message.type == "location":
        values["latitude"] = _number(body.get("latitude"))
        values["longitude"] = _number(body.get("longitude"))
        values["place"] = ", ".join(x for x in (body.get("name"), body.get("address")) if x)
    elif message.type == "contacts":
        shared = raw.get("contacts") if isinstance(raw.get("contacts"), list) else []
        values["contacts"] = tuple(_contact(c) for c in shared if isinstance(c, dict))
    elif message.type == "reaction":
        values["emoji"] = body.get("emoji", "")
    elif message.type == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or body.get("nfm_reply") or {}
        values["choice"] = reply.get("title", "") if isinstance(reply, dict) else ""
    elif message.type == "button":
        values["choice"] = body.get("text", "")
    if message.state == "failed":
        values["failure"] = _failure(message)
    return Bubble(
        id=message.id,
        direction=message.direction,
        type=kind,
        text=message.text,
        message=message,
        erased=message.erased_at is not None,
        **values,
    )


def _failure(message: MessageView) -> tuple[str, str]:
    de, en = reason_for(message.error_code, message.error_title)
    code = message.error_code
    if code is None or str(code) in en:
        return de, en
    return f"{de} ({code})", f"{en} ({code})"


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _contact(card: dict[str, Any]) -> tuple[str, str]:
    name = (
        card.get("name", {}).get("formatted_name", "") if isinstance(card.get("name"), dict) else ""
    )
    phones = card.get("phones") if isinstance(card.get("phones"), list) else []
    phone = next((p.get("phone", "") for p in phones if isinstance(p, dict)), "")
    return name, phone
