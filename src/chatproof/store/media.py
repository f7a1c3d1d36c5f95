"""The queue of media to fetch, kept on the message rows themselves: a crash between
acknowledging a webhook and downloading its image loses nothing, and each message shows
how its download went."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from chatproof.store import tables as t


@dataclass(frozen=True, slots=True)
class PendingMedia:
    message_id: int
    media_id: str
    sha256: str
    attempts: int
    subject_id: str = ""
    sent_at: datetime | None = None
    platform_id_hash: str = ""
    retention_class: str | None = None
    """The conversation's class when it was reclassified, else None (the default)."""


@dataclass(frozen=True, slots=True)
class StoredMedia:
    message_id: int
    subject_id: str
    blob: str
    mime_type: str
    filename: bytes | None


class MediaRepository(ABC):
    @abstractmethod
    def due(self, now: datetime, limit: int) -> list[PendingMedia]: ...

    @abstractmethod
    def mark_stored(self, message_id: int, blob: str) -> None: ...

    @abstractmethod
    def stored(self, message_id: int) -> StoredMedia | None:
        """The stored media of a message, if it has been fetched."""

    @abstractmethod
    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt; ``retry_at=None`` gives up for good."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Messages per media state (pending, stored, failed)."""


class SqlAlchemyMediaRepository(MediaRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def due(self, now: datetime, limit: int) -> list[PendingMedia]:
        m, c, p = t.messages.c, t.conversations.c, t.contacts.c
        query = (
            select(
                m.id,
                m.media_id,
                m.media_sha256,
                m.media_attempts,
                p.subject_id,
                m.sent_at,
                m.platform_id_hash,
                c.retention_class,
            )
            .join(t.conversations, c.id == m.conversation_id)
            .join(t.contacts, p.id == c.contact_id)
            .where(m.media_state == "pending", m.media_next_attempt_at <= now)
            .order_by(m.media_next_attempt_at, m.id)
            .limit(limit)
        )
        return [
            PendingMedia(
                row.id,
                row.media_id,
                row.media_sha256 or "",
                row.media_attempts,
                row.subject_id,
                row.sent_at,
                row.platform_id_hash,
                row.retention_class,
            )
            for row in self.conn.execute(query)
        ]

    def stored(self, message_id: int) -> StoredMedia | None:
        m, c, p = t.messages.c, t.conversations.c, t.contacts.c
        row = self.conn.execute(
            select(p.subject_id, m.media_blob, m.media_mime_type, m.media_filename)
            .join(t.conversations, c.id == m.conversation_id)
            .join(t.contacts, p.id == c.contact_id)
            .where(m.id == message_id, m.media_state == "stored")
        ).first()
        if row is None:
            return None
        return StoredMedia(
            message_id,
            row.subject_id,
            row.media_blob,
            row.media_mime_type or "",
            row.media_filename,
        )

    def mark_stored(self, message_id: int, blob: str) -> None:
        self.conn.execute(
            update(t.messages)
            .where(t.messages.c.id == message_id)
            .values(
                media_state="stored",
                media_blob=blob,
                media_error=None,
                media_next_attempt_at=None,
                media_attempts=t.messages.c.media_attempts + 1,
            )
        )

    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        self.conn.execute(
            update(t.messages)
            .where(t.messages.c.id == message_id)
            .values(
                media_state="pending" if retry_at else "failed",
                media_error=error[:500],
                media_next_attempt_at=retry_at,
                media_attempts=t.messages.c.media_attempts + 1,
            )
        )

    def counts(self) -> dict[str, int]:
        m = t.messages.c
        query = (
            select(m.media_state, func.count())
            .where(m.media_state.is_not(None))
            .group_by(m.media_state)
        )
        return {state: n for state, n in self.conn.execute(query)}
