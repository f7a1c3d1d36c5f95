"""JSON shapes of the API; converted from domain read models at the edge (STYLE 4)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from chatproof.domain.inbox import ConversationSummary, MessageView
from chatproof.domain.phone import mask_phone


class ConversationOut(BaseModel):
    """``unread_count`` is the team's: inbound messages since someone who may reply last
    opened the thread in the inbox. ``my_unread_count`` is the caller's own (a person's token
    or session; None for the installation's token, which belongs to nobody)."""

    id: int
    name: str
    phone_masked: str
    business_number_id: str
    status: str
    created_at: datetime
    last_message_at: datetime
    last_inbound_at: datetime | None
    service_window_ends: datetime | None
    message_count: int
    unread_count: int
    my_unread_count: int | None = None
    erased_at: datetime | None

    @classmethod
    def of(cls, c: ConversationSummary, my_unread: int | None = None) -> ConversationOut:
        return cls(
            id=c.id,
            name=c.name,
            phone_masked=mask_phone(c.wa_id) if c.wa_id else "",
            business_number_id=c.business_number_id,
            status=c.status,
            created_at=c.created_at,
            last_message_at=c.last_message_at,
            last_inbound_at=c.last_inbound_at,
            service_window_ends=c.window_ends,
            message_count=c.message_count,
            unread_count=c.unread_count,
            my_unread_count=my_unread,
            erased_at=c.erased_at,
        )


class MediaOut(BaseModel):
    media_id: str
    mime_type: str
    filename: str
    state: str
    attempts: int
    error: str
    url: str | None


class MessageOut(BaseModel):
    id: int
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
    media: MediaOut | None
    raw: dict[str, Any]
    erased_at: datetime | None

    @classmethod
    def of(cls, m: MessageView) -> MessageOut:
        media = None
        if m.media:
            media = MediaOut(
                media_id=m.media.media_id,
                mime_type=m.media.mime_type,
                filename=m.media.filename,
                state=m.media.state,
                attempts=m.media.attempts,
                error=m.media.error,
                url=f"/api/messages/{m.id}/media" if m.media.blob else None,
            )
        return cls(
            id=m.id,
            direction=m.direction,
            type=m.type,
            sent_at=m.sent_at,
            received_at=m.received_at,
            text=m.text,
            state=m.state,
            state_at=m.state_at,
            error_code=m.error_code,
            error_title=m.error_title,
            reply_to=m.reply_to,
            refers_to=m.refers_to,
            edited_at=m.edited_at,
            revoked_at=m.revoked_at,
            media=media,
            raw=json.loads(m.raw),
            erased_at=m.erased_at,
        )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class QuarantinedOut(BaseModel):
    id: int
    received_at: datetime
    reason: str
    path: str
    size: int
    body_sha256: str
    resolved_at: datetime | None
    resolved_by: str
