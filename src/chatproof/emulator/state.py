"""The emulator's in-memory world: simulated customers, what was sent, what they wrote.

Plain mutable records, owned by one ``Emulator`` and touched only from the event loop, so
no locking is needed. JSON views are what the control API shows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "WINDOW_SECONDS",
    "Conversation",
    "Customer",
    "EmulatorState",
    "InboundMessage",
    "SentMessage",
]

WINDOW_SECONDS = 24 * 60 * 60


@dataclass
class Customer:
    """A simulated WhatsApp user."""

    wa_id: str
    name: str
    language: str = "en"
    read_receipts: bool = True
    reachable: bool = True
    marketing_stopped: bool = False
    last_inbound_at: float | None = None
    recent_sends: deque[float] = field(default_factory=deque)

    def window_open(self, now: float) -> bool:
        """Whether the 24-hour customer service window is open at ``now``."""
        return self.last_inbound_at is not None and now - self.last_inbound_at < WINDOW_SECONDS

    def to_json(self, now: float) -> dict[str, Any]:
        expires = (
            None if self.last_inbound_at is None else int(self.last_inbound_at + WINDOW_SECONDS)
        )
        return {
            "wa_id": self.wa_id,
            "name": self.name,
            "language": self.language,
            "read_receipts": self.read_receipts,
            "reachable": self.reachable,
            "marketing_stopped": self.marketing_stopped,
            "window_open": self.window_open(now),
            "window_expires_at": expires,
        }


@dataclass
class Conversation:
    """A legacy pricing conversation; statuses still carry its id and expiry."""

    id: str
    category: str
    expires_at: int


@dataclass
class SentMessage:
    """A message the business sent, with every status the emulator reported for it."""

    id: str
    wa_id: str
    type: str
    request: dict[str, Any]
    accepted_at: float
    category: str
    billable: bool
    pricing_type: str
    biz_opaque_callback_data: str | None
    failure_code: int | None
    media: dict[str, Any] | None = None
    failure_details: str | None = None
    """The uploaded media it carried (id, type, hash, size, name), for the control API."""
    status: str = "accepted"
    conversation: Conversation | None = None
    statuses: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.wa_id,
            "type": self.type,
            "category": self.category,
            "status": self.status,
            "statuses": list(self.statuses),
            "errors": list(self.errors),
            "accepted_at": int(self.accepted_at),
            "request": self.request,
            "media": self.media,
        }


@dataclass
class InboundMessage:
    """A message a simulated customer sent, as it appeared in the webhook."""

    id: str
    wa_id: str
    message: dict[str, Any]
    read_by_business: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.wa_id,
            "type": self.message.get("type"),
            "read_by_business": self.read_by_business,
            "message": self.message,
        }


class EmulatorState:
    """Customers, sent and received messages, and pricing conversations."""

    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.sent: dict[str, SentMessage] = {}
        self.inbound: dict[str, InboundMessage] = {}
        self.conversations: dict[tuple[str, str], Conversation] = {}
        self.last_sent_to: dict[str, str] = {}

    def record_sent(self, message: SentMessage) -> None:
        self.sent[message.id] = message
        self.last_sent_to[message.wa_id] = message.id

    def record_inbound(self, message: InboundMessage) -> None:
        self.inbound[message.id] = message
