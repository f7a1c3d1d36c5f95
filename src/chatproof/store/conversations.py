"""Reading conversations and messages back, recording who read them, and pointing each
message at the log entry that records it.

Every read of personal content by a person or API client is logged (DESIGN invariant 2); the
archive will turn these rows into log entries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from chatproof.archive.log import EntryDraft
from chatproof.domain.inbox import ConversationSummary, MediaView, MessageView, Page
from chatproof.store import tables as t
from chatproof.store._sql import decode_cursor, driver_sql, encode_cursor
from chatproof.store.errors import NotFound
from chatproof.store.personal import PersonalContent


class ConversationRepository(ABC):
    @abstractmethod
    def list(
        self, *, limit: int, cursor: str | None, status: str | None
    ) -> Page[ConversationSummary]:
        """Most recent first. Raises ValueError for a cursor this repository did not hand out."""

    @abstractmethod
    def get(self, conversation_id: int) -> ConversationSummary:
        """Raises NotFound."""

    @abstractmethod
    def messages(
        self, conversation_id: int, *, limit: int, before: int | None
    ) -> Page[MessageView]:
        """Newest first; ``next_cursor`` is the ``before`` of the next (older) page."""

    @abstractmethod
    def log_access(self, at: datetime, actor: str, action: str, target: str) -> None: ...

    @abstractmethod
    def set_retention_class(self, conversation_id: int, retention_class: str) -> None:
        """Messages that arrive in the conversation from now on get this class."""

    @abstractmethod
    def link_entries(self, entries: Sequence[EntryDraft], indexes: Sequence[int]) -> None:
        """Point each message at the first log entry that records it (received, sent), so a
        ``wamid`` finds its proof without an index on the log."""


class SqlAlchemyConversationRepository(ConversationRepository):
    def __init__(self, conn: Connection, personal: PersonalContent) -> None:
        self.conn = conn
        self.personal = personal

    def _summary_query(self):  # noqa: ANN202 - a SQLAlchemy Select of many columns
        c, p = t.conversations.c, t.contacts.c
        return select(
            c.id,
            c.contact_id,
            p.subject_id,
            p.name,
            p.wa_id,
            c.business_number_id,
            c.status,
            c.created_at,
            c.last_message_at,
            c.last_inbound_at,
            c.message_count,
            c.unread_count,
        ).join(t.contacts, p.id == c.contact_id)

    def _summary(self, row: Row) -> ConversationSummary:
        name = self.personal.read_text(row.subject_id, row.name)
        wa_id = self.personal.read_text(row.subject_id, row.wa_id)
        return ConversationSummary(
            id=row.id,
            contact_id=row.contact_id,
            subject_id=row.subject_id,
            name=name.text,
            wa_id=wa_id.text,
            erased_at=name.erased_at or wa_id.erased_at,
            business_number_id=row.business_number_id,
            status=row.status,
            created_at=row.created_at,
            last_message_at=row.last_message_at,
            last_inbound_at=row.last_inbound_at,
            message_count=row.message_count,
            unread_count=row.unread_count,
        )

    def list(
        self, *, limit: int, cursor: str | None, status: str | None
    ) -> Page[ConversationSummary]:
        c = t.conversations.c
        query = self._summary_query().order_by(c.last_message_at.desc(), c.id.desc())
        if status:
            query = query.where(c.status == status)
        if cursor:
            at, last_id = decode_cursor(cursor)
            query = query.where(
                or_(c.last_message_at < at, and_(c.last_message_at == at, c.id < last_id))
            )
        rows = self.conn.execute(query.limit(limit + 1)).all()
        items = tuple(self._summary(row) for row in rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.last_message_at, last.id)
        return Page(items, next_cursor)

    def get(self, conversation_id: int) -> ConversationSummary:
        row = self.conn.execute(
            self._summary_query().where(t.conversations.c.id == conversation_id)
        ).first()
        if row is None:
            raise NotFound("conversation", conversation_id)
        return self._summary(row)

    def messages(
        self, conversation_id: int, *, limit: int, before: int | None
    ) -> Page[MessageView]:
        return self.message_page(conversation_id, limit=limit, before=before)[0]

    def message_page(
        self,
        conversation_id: int,
        *,
        limit: int,
        before: int | None,
        open_raw_of_text: bool = True,
    ) -> tuple[Page[MessageView], list[Any]]:
        """``messages``, and the rows shown, for callers that need more of them (the inbox:
        retention classes). The keys of the page's sealed values are read together; a page
        for people (``open_raw_of_text=False``) does not open a text message's platform
        object, which shows nothing its text does not."""
        subject = self.get(conversation_id).subject_id
        m = t.messages.c
        query = select(t.messages).where(m.conversation_id == conversation_id)
        if before is not None:
            query = query.where(m.id < before)
        rows = self.conn.execute(query.order_by(m.id.desc()).limit(limit + 1)).all()
        page: list[Any] = rows[:limit]
        if not open_raw_of_text:
            page = [
                SimpleNamespace(**{**r._mapping, "raw": None}) if r.type == "text" else r
                for r in page
            ]
        self.personal.prefetch(v for r in page for v in (r.text, r.raw, r.media_filename))
        refs = {r.context_hash for r in page if r.context_hash} | {
            r.related_hash for r in page if r.related_hash
        }
        ids: dict[str, int] = {}
        if refs:
            found = select(m.platform_id_hash, m.id).where(m.platform_id_hash.in_(refs))
            ids = {row.platform_id_hash: row.id for row in self.conn.execute(found)}
        items = tuple(self._message(row, subject, ids) for row in page)
        next_cursor = str(items[-1].id) if len(rows) > limit else None
        return Page(items, next_cursor), page

    def _message(self, row: Row, subject: str, ids: dict[str, int]) -> MessageView:
        media = None
        if row.media_id:
            media = MediaView(
                media_id=row.media_id,
                mime_type=row.media_mime_type or "",
                filename=self.personal.read_text(subject, row.media_filename).text,
                state=row.media_state or "",
                attempts=row.media_attempts,
                error=row.media_error or "",
                blob=row.media_blob or "",
            )
        text = self.personal.read_text(subject, row.text)
        raw = self.personal.read_text(subject, row.raw)
        return MessageView(
            id=row.id,
            conversation_id=row.conversation_id,
            direction=row.direction,
            type=row.type,
            sent_at=row.sent_at,
            received_at=row.received_at,
            text=text.text,
            state=row.state or "",
            state_at=row.state_at,
            error_code=row.error_code,
            error_title=row.error_title or "",
            reply_to=ids.get(row.context_hash) if row.context_hash else None,
            refers_to=ids.get(row.related_hash) if row.related_hash else None,
            edited_at=row.edited_at,
            revoked_at=row.revoked_at,
            media=media,
            raw=raw.text.encode() if raw.erased_at is None else b"{}",
            erased_at=text.erased_at or raw.erased_at,
        )

    def link_entries(self, entries: Sequence[EntryDraft], indexes: Sequence[int]) -> None:
        links = [
            (index, entry.platform_id_hash)
            for entry, index in zip(entries, indexes, strict=True)
            if entry.platform_id_hash and entry.kind.startswith("message.")
        ]
        if links:
            self.conn.exec_driver_sql(
                driver_sql(
                    self.conn,
                    "UPDATE messages SET log_index = ?"
                    " WHERE platform_id_hash = ? AND log_index IS NULL",
                ),
                links,
            )

    def set_retention_class(self, conversation_id: int, retention_class: str) -> None:
        c = t.conversations.c
        self.conn.execute(
            update(t.conversations)
            .where(c.id == conversation_id)
            .values(retention_class=retention_class)
        )

    def log_access(self, at: datetime, actor: str, action: str, target: str) -> None:
        self.conn.execute(
            t.access_log.insert().values(
                at=at, actor=actor[:200], action=action, target=_clip(target, 200)
            )
        )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
