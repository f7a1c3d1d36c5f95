"""What a WhatsApp webhook tells chatproof, as plain values.

The channel adapter turns platform JSON into these; services store them. Every value keeps
the platform object it came from (``raw``), so nothing the platform sent is lost even when
chatproof does not yet understand a type or field (DESIGN invariants 2 and 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class PlatformError:
    """An error object as the platform reports it in statuses, messages or out of band."""

    code: int | None
    title: str = ""
    message: str = ""
    details: str = ""
    href: str = ""


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A media object announced by a webhook; the bytes are fetched separately."""

    media_id: str
    mime_type: str = ""
    sha256: str = ""
    filename: str = ""
    voice: bool = False
    animated: bool = False


@dataclass(frozen=True, slots=True)
class Contact:
    """The customer's profile as the platform sent it alongside a message."""

    wa_id: str
    name: str = ""
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One message in either direction: inbound from a customer, or an echo of one the
    business sent from another device (``smb_message_echoes``)."""

    platform_id: str
    direction: Direction
    customer_wa_id: str
    business_number_id: str
    sent_at: datetime
    type: str
    text: str = ""
    media: MediaRef | None = None
    context_id: str = ""
    related_id: str = ""
    errors: tuple[PlatformError, ...] = ()
    raw: bytes = b"{}"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of a message the business sent."""

    platform_id: str
    status: str
    customer_wa_id: str
    business_number_id: str
    at: datetime
    errors: tuple[PlatformError, ...] = ()
    pricing_category: str = ""
    billable: bool | None = None
    callback_data: str = ""
    raw: bytes = b"{}"


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """Anything else the platform reports: marketing preferences, out-of-band errors,
    account and template updates, calls, and fields chatproof has no model for yet.

    ``key`` identifies the event across redeliveries.
    """

    field: str
    kind: str
    key: str
    customer_wa_id: str = ""
    business_number_id: str = ""
    at: datetime | None = None
    raw: bytes = b"{}"


@dataclass(frozen=True, slots=True)
class WebhookBatch:
    """Everything one webhook POST carried, in the order it carried it."""

    contacts: tuple[Contact, ...] = ()
    messages: tuple[Message, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    events: tuple[PlatformEvent, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return not (self.contacts or self.messages or self.statuses or self.events)
