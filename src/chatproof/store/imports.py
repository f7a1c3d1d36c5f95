"""Storing imported chat exports: the contact and conversation they belong to, one provenance
row per import, and the imported messages as ordinary message rows, so the inbox and the API
show them like live traffic (DESIGN: a company still on phones imports its chats).

Imported messages are told apart by their type (``import.<kind>``) and their row in
``imported_messages``; their conversation uses the business number ``import`` and never gets
a last inbound time, so an import opens no customer-service window. Their platform id hash is a
keyed fingerprint of the message behind its time, which makes a re-import a no-op (DESIGN
invariant 1's duplicate rule, applied to exports that carry no message ids).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Self

from sqlalchemy import Connection, select, update

from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.store import tables as t
from chatproof.store._sql import Statements
from chatproof.store.personal import PersonalContent
from chatproof.store.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWork

IMPORT_NUMBER = "import"
"""The business number of imported conversations: the phone that exported them is not one of
the business's Cloud API numbers, and live replies must not mix with archived history."""


@dataclass(frozen=True, slots=True)
class ImportedContact:
    contact_id: int
    subject_id: str
    conversation_id: int


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """Provenance of one import; ``file_name`` is sealed (it may hold a phone number)."""

    conversation_id: int
    file_sha256: str
    file_name: bytes
    format: str
    confidence_pct: int
    importer_version: str
    timezone: str
    imported_by: str
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class ImportCounts:
    messages_read: int = 0
    messages_added: int = 0
    bad_lines: int = 0
    media_stored: int = 0
    media_missing: int = 0


class PreparedMessages(NamedTuple):
    """Message rows ready for the driver: ``values`` in ``MESSAGE_COLUMNS`` order, bytes
    already sealed, times bound for the dialect (``MomentBinder``); per row the line and kind
    its ``imported_messages`` row records; and by position in ``values`` the ``MEDIA_COLUMNS``
    of the rows with an attachment. (Built away from the database, in the import's sealing
    process.)"""

    values: list[tuple[Any, ...]]
    lines: list[tuple[int, str]]
    media: dict[int, tuple[Any, ...]]


class ImportRepository(ABC):
    """Contract: every method MUST write within the caller's transaction and MUST NOT commit."""

    @abstractmethod
    def fingerprinter(self) -> Callable[[str], str]:
        """The keyed hash identifying an imported message, never its plaintext; it can be
        sent to another process (it holds its key)."""

    @abstractmethod
    def driver(self) -> str:
        """The database driver's name (``sqlite``, ``postgresql+psycopg``), so that rows
        prepared in another process bind times as this connection does."""

    @abstractmethod
    def has_messages(self, conversation_id: int) -> bool:
        """Whether the conversation holds any message, that is, any fingerprint to check."""

    @abstractmethod
    def has_unordered_fingerprints(self, conversation_id: int) -> bool:
        """Whether the conversation holds messages imported before fingerprints began with
        their time (a hex digit first, not ``i``)."""

    @abstractmethod
    def ensure_contact(self, wa_id: str, name: str, now: datetime) -> ImportedContact:
        """The contact with this WhatsApp number (created, named ``name``, if new) and its
        imported conversation (created if new)."""

    @abstractmethod
    def known(self, fingerprints: Sequence[str]) -> set[str]:
        """Those of ``fingerprints`` already stored."""

    @abstractmethod
    def start(self, record: ImportRecord) -> int:
        """Record an import; return its id."""

    @abstractmethod
    def add_messages(self, import_id: int, rows: PreparedMessages) -> dict[str, int]:
        """Store the rows whose fingerprint is new; return fingerprint → message id of those."""

    @abstractmethod
    def finish(
        self, import_id: int, conversation_id: int, counts: ImportCounts, last_at: datetime | None
    ) -> None:
        """Record the counts and fold the added messages into the conversation."""

    @abstractmethod
    def imports(self, conversation_id: int) -> list[tuple[int, ImportRecord, ImportCounts]]:
        """Imports into a conversation, oldest first."""


class SqlAlchemyImportRepository(ImportRepository):
    def __init__(
        self, conn: Connection, personal: PersonalContent, pseudonyms: Pseudonymizer
    ) -> None:
        self.conn = conn
        self.personal = personal
        self.pseudonyms = pseudonyms
        self.sql = Statements(conn)

    def fingerprinter(self) -> Callable[[str], str]:
        return self.pseudonyms.hasher("import")

    def driver(self) -> str:
        return self.conn.engine.url.drivername

    def has_messages(self, conversation_id: int) -> bool:
        m = t.messages.c
        query = select(m.id).where(m.conversation_id == conversation_id).limit(1)
        return self.conn.execute(query).first() is not None

    def has_unordered_fingerprints(self, conversation_id: int) -> bool:
        m = t.messages.c
        query = (
            select(m.id)
            .where(m.conversation_id == conversation_id, ~m.platform_id_hash.startswith("i"))
            .limit(1)
        )
        return self.conn.execute(query).first() is not None

    def ensure_contact(self, wa_id: str, name: str, now: datetime) -> ImportedContact:
        wa_id_hash = self.pseudonyms.hash("wa_id", wa_id)
        c = t.contacts.c
        found = self.conn.execute(
            select(c.id, c.subject_id).where(c.wa_id_hash == wa_id_hash)
        ).first()
        if found is None:
            subject = str(uuid.uuid4())
            self.personal.prepare([(subject, now)])
            sealed_wa_id, sealed_name = self.personal.seal_fields(subject, [wa_id, name], now)
            at = self.sql.moment(now)
            # The name digest stays empty: the next live message sets name and digest.
            self.sql.insert(
                t.contacts,
                ("subject_id", "wa_id_hash", "wa_id", "name", "first_seen_at", "updated_at"),
                [(subject, wa_id_hash, sealed_wa_id, sealed_name, at, at)],
                conflict=("wa_id_hash",),
            )
            found = self.conn.execute(
                select(c.id, c.subject_id).where(c.wa_id_hash == wa_id_hash)
            ).first()
            assert found is not None
        contact_id, subject_id = found
        conversation_id = self._ensure_conversation(contact_id, now)
        return ImportedContact(contact_id, subject_id, conversation_id)

    def _ensure_conversation(self, contact_id: int, now: datetime) -> int:
        c = t.conversations.c
        query = select(c.id).where(
            c.contact_id == contact_id, c.business_number_id == IMPORT_NUMBER
        )
        found = self.conn.execute(query).scalar()
        if found is None:
            at = self.sql.moment(now)
            self.sql.insert(
                t.conversations,
                ("contact_id", "business_number_id", "status", "created_at", "last_message_at"),
                [(contact_id, IMPORT_NUMBER, "closed", at, at)],
                conflict=("contact_id", "business_number_id"),
            )
            found = self.conn.execute(query).scalar()
        assert found is not None
        return int(found)

    def known(self, fingerprints: Sequence[str]) -> set[str]:
        rows = self.sql.select_in(
            "SELECT platform_id_hash FROM messages", "platform_id_hash", fingerprints
        )
        return {row[0] for row in rows}

    def start(self, record: ImportRecord) -> int:
        values = {f: getattr(record, f) for f in record.__slots__}  # type: ignore[attr-defined]
        values["imported_by"] = record.imported_by[:200]
        result = self.conn.execute(t.imports.insert().values(**values))
        return int(result.inserted_primary_key[0])

    def add_messages(self, import_id: int, rows: PreparedMessages) -> dict[str, int]:
        if not rows.values:
            return {}
        if self.conn.dialect.name == "sqlite":
            ids = self._add_numbered(rows)
        else:
            returned = self.sql.insert(
                t.messages,
                MESSAGE_COLUMNS,
                rows.values,
                conflict=("platform_id_hash",),
                returning=("platform_id_hash", "id"),
            )
            ids = {fingerprint: int(message_id) for fingerprint, message_id in returned}
        self._add_media(rows, ids)
        self.sql.insert(
            t.imported_messages,
            ("message_id", "import_id", "line", "kind"),
            [
                (ids[values[1]], import_id, line, kind)
                for values, (line, kind) in zip(rows.values, rows.lines, strict=True)
                if values[1] in ids
            ],
        )
        return ids

    def _add_media(self, rows: PreparedMessages, ids: dict[str, int]) -> None:
        """The media columns of the rows just inserted that have an attachment, a fortieth of
        an export's messages. Inserted with the rest, every other row would bind seven
        ``None``, which the sqlite3 module binds slowly (``Statements``): 200,000 rows took
        0.90 s to insert with them, 0.47 s without."""
        updates = [
            (*media, ids[fingerprint])
            for position, media in rows.media.items()
            if (fingerprint := rows.values[position][1]) in ids
        ]
        if updates:
            assignments = ", ".join(f"{column} = ?" for column in MEDIA_COLUMNS)
            self.sql.update_many(f"UPDATE messages SET {assignments} WHERE id = ?", updates)

    def _add_numbered(self, rows: PreparedMessages) -> dict[str, int]:
        """SQLite, with one writer at a time, numbers rows inserted together one after the
        largest id, in order (its rule for rowids), so their ids need no ``RETURNING``. Only
        if some row was a duplicate are the ids read back."""
        first = self.conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM messages").scalar()
        inserted = self.sql.insert_counted(
            t.messages, MESSAGE_COLUMNS, rows.values, conflict=("platform_id_hash",)
        )
        fingerprints = [values[1] for values in rows.values]
        if inserted == len(fingerprints):
            return dict(zip(fingerprints, range(first, first + inserted), strict=True))
        found = self.sql.select_in(
            "SELECT platform_id_hash, id FROM messages", "platform_id_hash", fingerprints
        )
        return {fingerprint: int(i) for fingerprint, i in found if i >= first}

    def finish(
        self, import_id: int, conversation_id: int, counts: ImportCounts, last_at: datetime | None
    ) -> None:
        self.conn.execute(
            update(t.imports)
            .where(t.imports.c.id == import_id)
            .values(
                messages_read=counts.messages_read,
                messages_added=counts.messages_added,
                bad_lines=counts.bad_lines,
                media_stored=counts.media_stored,
                media_missing=counts.media_missing,
            )
        )
        if not counts.messages_added or last_at is None:
            return
        last = self.sql.moment(last_at)
        # As for live messages: the counters grow and the last message time only moves forward;
        # last_inbound_at is never touched, so no customer-service window opens.
        self.sql.update_many(
            "UPDATE conversations SET message_count = message_count + ?,"
            " last_message_at = CASE WHEN message_count = 0 OR last_message_at < ?"
            " THEN ? ELSE last_message_at END WHERE id = ?",
            [(counts.messages_added, last, last, conversation_id)],
        )

    def imports(self, conversation_id: int) -> list[tuple[int, ImportRecord, ImportCounts]]:
        i = t.imports.c
        rows = self.conn.execute(
            select(t.imports).where(i.conversation_id == conversation_id).order_by(i.id)
        ).all()
        found = []
        for row in rows:
            record = ImportRecord(
                *(getattr(row, f) for f in ImportRecord.__slots__)  # type: ignore[attr-defined]
            )
            counts = ImportCounts(
                *(getattr(row, f) for f in ImportCounts.__slots__)  # type: ignore[attr-defined]
            )
            found.append((row.id, record, counts))
        return found


MESSAGE_COLUMNS = (
    "conversation_id",
    "platform_id_hash",
    "platform_id",
    "direction",
    "type",
    "sent_at",
    "received_at",
    "text",
    "raw",
    "log_index",
)

MEDIA_COLUMNS = (
    "media_id",
    "media_mime_type",
    "media_sha256",
    "media_filename",
    "media_state",
    "media_blob",
    "media_error",
)


class ImportUnitOfWork(UnitOfWork):
    """A unit of work that can also store imports."""

    imports: ImportRepository


class SqlAlchemyImportUnitOfWork(SqlAlchemyUnitOfWork, ImportUnitOfWork):
    def __enter__(self) -> Self:
        super().__enter__()
        assert self._conn is not None
        self.imports = SqlAlchemyImportRepository(self._conn, self.personal, self.pseudonyms)
        return self
