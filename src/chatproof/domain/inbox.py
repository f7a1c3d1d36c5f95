"""What the inbox shows: conversations and messages as read models, and the customer-service
window that decides whether a free-text reply is possible (reference §4.1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")

SERVICE_WINDOW = timedelta(hours=24)


def service_window_ends(last_inbound_at: datetime | None) -> datetime | None:
    """When free-form replies stop being allowed; None if the customer never wrote."""
    return last_inbound_at + SERVICE_WINDOW if last_inbound_at else None


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: int
    contact_id: int
    subject_id: str
    name: str
    wa_id: str
    business_number_id: str
    status: str
    created_at: datetime
    last_message_at: datetime
    last_inbound_at: datetime | None
    message_count: int
    unread_count: int
    erased_at: datetime | None = None

    @property
    def window_ends(self) -> datetime | None:
        return service_window_ends(self.last_inbound_at)


@dataclass(frozen=True, slots=True)
class MediaView:
    media_id: str
    mime_type: str
    filename: str
    state: str
    attempts: int
    error: str
    blob: str


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    conversation_id: int
    direction: str
    type: str
    sent_at: datetime
    received_at: datetime
    text: str
    state: str
    state_at: datetime | None
    error_code: int | None
    error_title: str
    reply_to: int | None
    refers_to: int | None
    edited_at: datetime | None
    revoked_at: datetime | None
    media: MediaView | None
    raw: bytes
    erased_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None
