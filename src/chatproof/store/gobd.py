"""The rows of a GoBD export, read in one snapshot (DESIGN invariants 3 and 4).

Messages are the bulk: they are read in pages through the driver's own cursor, with the key
rows of each page read together (the per-row overhead of SQLAlchemy would cost more than the
database's own work, see ``chatproof.store.log``). The smaller tables are streamed through
SQLAlchemy with server-side cursors where the backend has them, so no result is held whole.
Nothing here decrypts: rows carry their sealed bytes and their subject id.

The log entry of a row is found through ``messages.log_index`` where it is stored; otherwise
(messages sent by the outbox, statuses, consent events) by joining the log on what the entry
records about the row: its keyed platform id and kind, or its subject and position among the
subject's consent entries (each consent event is appended as exactly one entry, in order).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from chatproof.archive.key_records import BucketKeyRecord, DataKeyRecord
from chatproof.store import tables as t
from chatproof.store._sql import MomentBinder, chunks, driver_sql

DEFAULT_BATCH = 5_000

_MESSAGES = (
    "SELECT m.id, m.conversation_id, m.direction, m.type, m.sent_at, m.received_at, m.text,"
    " substr(m.raw, 1, 17), m.state, m.error_code, m.media_mime_type, m.media_blob,"
    " m.media_filename, m.media_state, m.log_index, m.delivery_id FROM messages m"
    " WHERE m.id > ? AND m.id <= ? AND m.sent_at >= ? AND m.sent_at < ? ORDER BY m.id LIMIT ?"
)
_CONVERSATIONS = (
    "SELECT v.id, v.contact_id, c.subject_id FROM conversations v"
    " JOIN contacts c ON c.id = v.contact_id WHERE v.id IN "
)
_LEAVES_BETWEEN = "SELECT idx, leaf_hash FROM log_entries WHERE idx >= ? AND idx <= ?"
_LEAVES_IN = "SELECT idx, leaf_hash FROM log_entries WHERE idx IN "
_CACHED_CONVERSATIONS = 50_000
_LAST_ID = 2**62
_UNLINKED_MESSAGES = text(
    "SELECT m.id, e.idx, e.leaf_hash FROM messages m"
    " JOIN log_entries e ON e.platform_id_hash = m.platform_id_hash"
    " AND e.kind IN ('message.outbound', 'message.inbound')"
    " WHERE m.log_index IS NULL AND m.sent_at >= :start AND m.sent_at < :end ORDER BY m.id"
)
_STATUSES = text(
    "SELECT s.id, m.id, s.status, s.at, s.error_code, substr(s.raw, 1, 17), c.subject_id,"
    " e.idx, e.leaf_hash"
    " FROM statuses s JOIN messages m ON m.platform_id_hash = s.platform_id_hash"
    " JOIN conversations v ON v.id = m.conversation_id JOIN contacts c ON c.id = v.contact_id"
    " LEFT JOIN log_entries e ON e.platform_id_hash = s.platform_id_hash"
    " AND e.kind = 'status.' || s.status"
    " WHERE s.at >= :start AND s.at < :end ORDER BY s.id"
)
_CONSENTS = text(
    "WITH ev AS (SELECT ce.id, ce.contact_id, ce.purpose, ce.action, ce.source, ce.at,"
    " ce.recorded_by, ce.text, ce.text_version, ce.proof, c.subject_id,"
    " ROW_NUMBER() OVER (PARTITION BY ce.contact_id ORDER BY ce.id) AS n"
    " FROM consent_events ce JOIN contacts c ON c.id = ce.contact_id),"
    " le AS (SELECT idx, leaf_hash, subject_id,"
    " ROW_NUMBER() OVER (PARTITION BY subject_id ORDER BY idx) AS n"
    " FROM log_entries WHERE kind LIKE 'consent.%')"
    " SELECT ev.id, ev.contact_id, ev.purpose, ev.action, ev.source, ev.at, ev.recorded_by,"
    " ev.text, ev.text_version, ev.proof, le.idx, le.leaf_hash"
    " FROM ev LEFT JOIN le ON le.subject_id = ev.subject_id AND le.n = ev.n"
    " WHERE ev.at >= :start AND ev.at < :end ORDER BY ev.id"
)
_CONTACTS = text(
    "SELECT c.id, c.subject_id, c.wa_id, c.name, c.first_seen_at FROM contacts c"
    " WHERE EXISTS (SELECT 1 FROM conversations v JOIN messages m ON m.conversation_id = v.id"
    " WHERE v.contact_id = c.id AND m.sent_at >= :start AND m.sent_at < :end)"
    " OR EXISTS (SELECT 1 FROM consent_events ce WHERE ce.contact_id = c.id"
    " AND ce.at >= :start AND ce.at < :end) ORDER BY c.id"
)
_LOG_RANGE = "SELECT idx, kind, leaf_hash FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx"
_DATA_KEYS = "SELECT key_id, bucket_id, generation, wrapped_key FROM data_keys WHERE key_id IN "


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    leaf_hash: bytes


def as_utc(value: Any) -> datetime:
    """A stored moment as an aware UTC datetime: SQLite's driver hands back text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlExportSource:
    """Read-only access to everything a GoBD export contains, inside ``conn``'s transaction."""

    def __init__(self, conn: Connection, batch: int = DEFAULT_BATCH) -> None:
        self.conn = conn
        self.batch = batch
        self._moment = MomentBinder(conn.dialect)
        self._sql = {
            "messages": driver_sql(conn, _MESSAGES),
            "log_range": driver_sql(conn, _LOG_RANGE),
        }

    def _cursor(self) -> Any:
        return self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _bounds(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {"start": self._moment(start), "end": self._moment(end)}

    def message_pages(
        self, start: datetime, end: datetime, *, first_id: int = 1, last_id: int | None = None
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Messages sent in ``[start, end)`` with ids from ``first_id`` to ``last_id``, by id,
        a page at a time: (id, conversation_id,
        contact_id, subject_id, direction, type, sent_at, received_at, sealed text, the
        first 17 bytes of the sealed raw payload (naming its data key), state, error_code,
        media mime type, media blob, sealed media file name, media state, log index, leaf
        hash, delivery id).

        Conversations and leaf hashes are read per page rather than joined: a message's entry
        lies near its neighbours', so one range read of the log serves the page, and joining
        each row cost more than reading the messages themselves."""
        cursor = self._cursor()
        conversations: dict[int, tuple[int, str]] = {}
        try:
            after, last = first_id - 1, _LAST_ID if last_id is None else last_id
            lo, hi = self._moment(start), self._moment(end)
            while True:
                cursor.execute(self._sql["messages"], (after, last, lo, hi, self.batch))
                rows = cursor.fetchall()
                if not rows:
                    return
                if len(conversations) > _CACHED_CONVERSATIONS:
                    conversations.clear()
                wanted = {r[1] for r in rows} - conversations.keys()
                for part in chunks(sorted(wanted), 1000):
                    marks = ", ".join("?" * len(part))
                    cursor.execute(driver_sql(self.conn, f"{_CONVERSATIONS}({marks})"), part)
                    conversations.update((v, (c, s)) for v, c, s in cursor.fetchall())
                leaves = self._leaves(cursor, [r[14] for r in rows if r[14] is not None])
                yield [
                    (r[0], r[1], *conversations[r[1]], *r[2:14], r[14], leaves.get(r[14]), r[15])
                    for r in rows
                ]
                after = rows[-1][0]
        finally:
            cursor.close()

    def _leaves(self, cursor: Any, indexes: list[int]) -> dict[int, bytes]:
        if not indexes:
            return {}
        first, last = min(indexes), max(indexes)
        if last - first < 4 * len(indexes) + 1000:
            cursor.execute(driver_sql(self.conn, _LEAVES_BETWEEN), (first, last))
            return dict(cursor.fetchall())
        found: dict[int, bytes] = {}
        for part in chunks(sorted(set(indexes)), 1000):
            marks = ", ".join("?" * len(part))
            cursor.execute(driver_sql(self.conn, f"{_LEAVES_IN}({marks})"), part)
            found.update(cursor.fetchall())
        return found

    def unlinked_message_entries(
        self, start: datetime, end: datetime
    ) -> Iterator[tuple[int, Entry]]:
        """(message id, its entry) for messages whose row does not name its entry, by id."""
        result = self.conn.execution_options(stream_results=True).execute(
            _UNLINKED_MESSAGES, self._bounds(start, end)
        )
        for message_id, index, leaf in result:
            yield message_id, Entry(index, bytes(leaf))

    def statuses(self, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
        """(id, message id, status, at, error code, sealed prefix, subject id, log index,
        leaf hash) of statuses reported in ``[start, end)``."""
        result = self.conn.execution_options(stream_results=True).execute(
            _STATUSES, self._bounds(start, end)
        )
        yield from result

    def consent_events(self, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
        result = self.conn.execution_options(stream_results=True).execute(
            _CONSENTS, self._bounds(start, end)
        )
        yield from result

    def contacts(self, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
        """(id, subject id, sealed number, sealed name, first seen) of every contact with a
        message or consent event in ``[start, end)``."""
        result = self.conn.execution_options(stream_results=True).execute(
            _CONTACTS, self._bounds(start, end)
        )
        yield from result

    def log_range(self, first: int, end: int) -> Iterator[list[tuple[int, str, bytes]]]:
        """(index, kind, leaf hash) of entries ``[first, end)``, a page at a time."""
        cursor = self._cursor()
        try:
            at = first
            while at < end:
                stop = min(end, at + self.batch * 4)
                cursor.execute(self._sql["log_range"], (at, stop))
                rows = cursor.fetchall()
                yield (
                    rows
                    if not rows or isinstance(rows[0][2], bytes)
                    else [(i, k, bytes(h)) for i, k, h in rows]
                )
                at = stop
        finally:
            cursor.close()

    def data_keys(self, key_ids: Sequence[bytes]) -> list[DataKeyRecord]:
        found: list[DataKeyRecord] = []
        cursor = self._cursor()
        try:
            for part in chunks(sorted(set(key_ids)), 1000):
                marks = ", ".join("?" * len(part))
                cursor.execute(driver_sql(self.conn, f"{_DATA_KEYS}({marks})"), part)
                found.extend(
                    DataKeyRecord(bytes(k), b, g, bytes(w)) for k, b, g, w in cursor.fetchall()
                )
        finally:
            cursor.close()
        return found

    def bucket_keys(self, bucket_ids: Sequence[str]) -> list[BucketKeyRecord]:
        b = t.bucket_keys.c
        found: list[BucketKeyRecord] = []
        for part in chunks(sorted(set(bucket_ids)), 1000):
            for row in self.conn.execute(select(t.bucket_keys).where(b.bucket_id.in_(part))):
                found.append(
                    BucketKeyRecord(
                        bucket_id=row.bucket_id,
                        generation=row.generation,
                        subject_id=row.subject_id,
                        retention_class=row.retention_class,
                        start_year=row.start_year,
                        wrapped_key=bytes(row.wrapped_key) if row.wrapped_key else None,
                        master_version=row.master_version,
                        shredded_at=row.shredded_at,
                        shred_reason=row.shred_reason,
                        shredded_by=row.shredded_by,
                    )
                )
        return found
