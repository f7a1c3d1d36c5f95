"""Where sealed content sits, record by record: the sealed columns of messages, statuses and
platform events, and the rows of the key store, read as stored (DESIGN invariants 3 and 4).

Reclassification needs the data keys behind one message or conversation; deep verification
walks every record to compare it with the log entry that recorded it. Neither opens anything:
the data key of sealed bytes is named in their header, so no key is needed here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, select, tuple_

from chatproof.store import tables as t
from chatproof.store.errors import NotFound

DEFAULT_PAGE = 1000


@dataclass(frozen=True, slots=True)
class SealedMessage:
    id: int
    conversation_id: int
    subject_id: str
    platform_id_hash: str
    direction: str
    fields: tuple[bytes, ...]
    """Every sealed column of the row that is set (wamid, text, raw payload, file name)."""
    raw: bytes
    delivery_body: bytes | None
    media_state: str | None
    media_blob: str | None
    log_index: int | None = None
    sent_at: datetime | None = None
    type: str = ""
    media_id: str | None = None


@dataclass(frozen=True, slots=True)
class SealedStatus:
    id: int
    platform_id_hash: str
    status: str
    raw: bytes
    at: datetime | None = None
    error_code: int | None = None


@dataclass(frozen=True, slots=True)
class SealedEvent:
    id: int
    field: str
    kind: str
    raw: bytes
    at: datetime | None = None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SealedQuarantine:
    id: int
    reason: str
    path: str
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class BucketRow:
    bucket_id: str
    generation: int
    subject_id: str
    retention_class: str
    start_year: int
    master_version: int
    shredded_at: datetime | None


@dataclass(frozen=True, slots=True)
class DataKeyRow:
    key_id: bytes
    bucket_id: str
    generation: int


class SealedRecordRepository(ABC):
    """Read-only. Listings are ordered by id and paged with ``after``."""

    @abstractmethod
    def message(self, message_id: int) -> SealedMessage:
        """Raises NotFound."""

    @abstractmethod
    def messages(
        self, *, conversation_id: int | None = None, after: int = 0, limit: int = DEFAULT_PAGE
    ) -> list[SealedMessage]: ...

    @abstractmethod
    def conversation_subject(self, conversation_id: int) -> str:
        """Raises NotFound."""

    @abstractmethod
    def statuses(self, *, after: int = 0, limit: int = DEFAULT_PAGE) -> list[SealedStatus]: ...

    @abstractmethod
    def events(self, *, after: int = 0, limit: int = DEFAULT_PAGE) -> list[SealedEvent]: ...

    @abstractmethod
    def data_keys(self, *, after: bytes = b"", limit: int = DEFAULT_PAGE) -> list[DataKeyRow]: ...

    @abstractmethod
    def quarantined(
        self, *, after: int = 0, limit: int = DEFAULT_PAGE
    ) -> list[SealedQuarantine]: ...

    @abstractmethod
    def bucket_rows(
        self, *, after: tuple[str, int] = ("", -1), limit: int = DEFAULT_PAGE
    ) -> list[BucketRow]:
        """Every bucket key row, shredded ones included, without its wrapped key."""

    @abstractmethod
    def contact_fields(self, subject_id: str) -> list[bytes]:
        """The sealed number, profile name and user id of the subject's contact, those set."""

    def all_messages(self) -> Iterator[SealedMessage]:
        after = 0
        while page := self.messages(after=after):
            yield from page
            after = page[-1].id


class SqlAlchemySealedRecordRepository(SealedRecordRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _message_query(self):  # noqa: ANN202 - a SQLAlchemy Select of many columns
        m, c, p, d = t.messages.c, t.conversations.c, t.contacts.c, t.webhook_deliveries.c
        return (
            select(
                m.id,
                m.conversation_id,
                p.subject_id,
                m.platform_id_hash,
                m.direction,
                m.platform_id,
                m.text,
                m.raw,
                m.media_filename,
                d.body,
                m.media_state,
                m.media_blob,
                m.log_index,
                m.sent_at,
                m.type,
                m.media_id,
            )
            .join(t.conversations, c.id == m.conversation_id)
            .join(t.contacts, p.id == c.contact_id)
            .outerjoin(t.webhook_deliveries, d.id == m.delivery_id)
        )

    def message(self, message_id: int) -> SealedMessage:
        row = self.conn.execute(self._message_query().where(t.messages.c.id == message_id)).first()
        if row is None:
            raise NotFound("message", message_id)
        return _message(row)

    def messages(
        self, *, conversation_id: int | None = None, after: int = 0, limit: int = DEFAULT_PAGE
    ) -> list[SealedMessage]:
        m = t.messages.c
        query = self._message_query().where(m.id > after).order_by(m.id).limit(limit)
        if conversation_id is not None:
            query = query.where(m.conversation_id == conversation_id)
        return [_message(row) for row in self.conn.execute(query)]

    def conversation_subject(self, conversation_id: int) -> str:
        c, p = t.conversations.c, t.contacts.c
        subject = self.conn.execute(
            select(p.subject_id)
            .join(t.conversations, c.contact_id == p.id)
            .where(c.id == conversation_id)
        ).scalar()
        if subject is None:
            raise NotFound("conversation", conversation_id)
        return subject

    def statuses(self, *, after: int = 0, limit: int = DEFAULT_PAGE) -> list[SealedStatus]:
        s = t.statuses.c
        query = (
            select(s.id, s.platform_id_hash, s.status, s.raw, s.at, s.error_code)
            .where(s.id > after)
            .order_by(s.id)
            .limit(limit)
        )
        return [
            SealedStatus(
                row.id, row.platform_id_hash, row.status, bytes(row.raw), row.at, row.error_code
            )
            for row in self.conn.execute(query)
        ]

    def events(self, *, after: int = 0, limit: int = DEFAULT_PAGE) -> list[SealedEvent]:
        e = t.platform_events.c
        query = (
            select(e.id, e.field, e.kind, e.raw, e.at, e.received_at)
            .where(e.id > after)
            .order_by(e.id)
            .limit(limit)
        )
        return [
            SealedEvent(row.id, row.field, row.kind, bytes(row.raw), row.at, row.received_at)
            for row in self.conn.execute(query)
        ]

    def contact_fields(self, subject_id: str) -> list[bytes]:
        c = t.contacts.c
        query = select(c.wa_id, c.name, c.user_id).where(c.subject_id == subject_id)
        row = self.conn.execute(query).first()
        return [bytes(value) for value in row or () if value]

    def quarantined(self, *, after: int = 0, limit: int = DEFAULT_PAGE) -> list[SealedQuarantine]:
        q = t.quarantine.c
        query = (
            select(q.id, q.reason, q.path, q.body, q.received_at)
            .where(q.id > after)
            .order_by(q.id)
            .limit(limit)
        )
        return [
            SealedQuarantine(row.id, row.reason, row.path, bytes(row.body), row.received_at)
            for row in self.conn.execute(query)
        ]

    def bucket_rows(
        self, *, after: tuple[str, int] = ("", -1), limit: int = DEFAULT_PAGE
    ) -> list[BucketRow]:
        b = t.bucket_keys.c
        query = (
            select(
                b.bucket_id,
                b.generation,
                b.subject_id,
                b.retention_class,
                b.start_year,
                b.master_version,
                b.shredded_at,
            )
            .where(tuple_(b.bucket_id, b.generation) > after)
            .order_by(b.bucket_id, b.generation)
            .limit(limit)
        )
        return [BucketRow(*row) for row in self.conn.execute(query)]

    def data_keys(self, *, after: bytes = b"", limit: int = DEFAULT_PAGE) -> list[DataKeyRow]:
        d = t.data_keys.c
        query = (
            select(d.key_id, d.bucket_id, d.generation)
            .where(d.key_id > after)
            .order_by(d.key_id)
            .limit(limit)
        )
        return [
            DataKeyRow(bytes(row.key_id), row.bucket_id, row.generation)
            for row in self.conn.execute(query)
        ]


def _message(row: Row) -> SealedMessage:
    sealed = (row.platform_id, row.text, row.raw, row.media_filename)
    return SealedMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        subject_id=row.subject_id,
        platform_id_hash=row.platform_id_hash,
        direction=row.direction,
        fields=tuple(bytes(v) for v in sealed if v is not None),
        raw=bytes(row.raw),
        delivery_body=bytes(row.body) if row.body is not None else None,
        media_state=row.media_state,
        media_blob=row.media_blob,
        log_index=row.log_index,
        sent_at=row.sent_at,
        type=row.type,
        media_id=row.media_id,
    )
