"""Storing an import chunk by chunk: each chunk of messages is fingerprinted, checked against
what is already stored, sealed under the contact's key (DESIGN invariant 4), appended to the
log and stored as message rows linked to their entries (invariant 2), with its media sealed
into the blob store. Everything runs in the caller's transaction."""

from __future__ import annotations

import gc
import hashlib
import json
import mimetypes
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.domain.chat_export import BadLine, ChatMessage, Kind
from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.source import ExportFile
from chatproof.services.media import pack
from chatproof.store.imports import (
    ImportCounts,
    ImportedContact,
    ImportedMessageRow,
    ImportUnitOfWork,
)

CHUNK = 2000
"""Messages sealed, stored and appended together: bucket lookups, data keys, inserts and log
appends are done per chunk, not per message."""

MAX_REPORTED_BAD_LINES = 50

DAMAGED = "damaged in the export (its zip checksum does not match)"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Storing a chunk builds tens of thousands of short-lived objects and no cycles; the
    cycle collector's walks over the heap meanwhile cost a tenth of the import's time."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def chunks(items: Iterable[ChatMessage]) -> Iterator[list[ChatMessage]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


class ImportRun:
    """The state of one import while its chunks are stored: what was read, added and
    reported, and how identical messages within a minute are told apart."""

    def __init__(
        self,
        uow: ImportUnitOfWork,
        blobs: BlobStore,
        export: ExportFile,
        business_name: str,
        contact: ImportedContact,
        start: Callable[[], int],
        tz: ZoneInfo,
        now: datetime,
    ) -> None:
        self.uow = uow
        self.blobs = blobs
        self.export = export
        self.business = business_name.strip()
        self.contact = contact
        self._start = start
        self.import_id: int | None = None
        """Set when the first new message is stored: an import that adds nothing writes nothing."""
        self.tz = tz
        self.now = now
        self.read = self.added = self.entries = 0
        self.bad_count = self.media_stored = self.media_missing = 0
        self.outbound = 0
        self.bad: list[BadLine] = []
        self.last_at: datetime | None = None
        self._same_minute: Counter[tuple[object, ...]] = Counter()
        self._minute: datetime | None = None
        self._key = f"{contact.subject_id}\x00"

    def messages(self, parsed: Iterable[ChatMessage | BadLine]) -> Iterator[ChatMessage]:
        """The messages, counting and keeping the bad lines aside."""
        for item in parsed:
            if isinstance(item, BadLine):
                self.bad_count += 1
                if len(self.bad) < MAX_REPORTED_BAD_LINES:
                    self.bad.append(item)
                continue
            self.read += 1
            yield item

    def _fingerprint(self, m: ChatMessage) -> str:
        if m.at != self._minute:
            self._minute = m.at
            self._same_minute.clear()
        identity = (m.author, m.kind, m.attachment, m.text)
        seen = self._same_minute[identity]
        self._same_minute[identity] = seen + 1
        value = "\x00".join(
            (m.at.isoformat(), m.author, m.kind.value, m.attachment or "", m.text, str(seen))
        )
        return self.uow.imports.fingerprint(self._key + value)

    def store(self, chunk: list[ChatMessage]) -> None:
        uow = self.uow
        personal = uow.personal
        subject = self.contact.subject_id
        fingerprints = [self._fingerprint(m) for m in chunk]
        known = uow.imports.known(fingerprints)
        fresh = [(f, m) for f, m in zip(fingerprints, chunk, strict=True) if f not in known]
        if not fresh:
            return
        import_id = self.import_id
        if import_id is None:
            import_id = self.import_id = self._start()
        tz = self.tz
        times = [m.at.replace(tzinfo=tz) for _, m in fresh]
        personal.prepare({(subject, at.year): (subject, at) for at in times}.values())
        rows: list[ImportedMessageRow] = []
        details: list[dict[str, object]] = []
        for (fingerprint, m), at in zip(fresh, times, strict=True):
            if m.kind is Kind.SYSTEM:
                direction = "system"
            elif m.author == self.business:
                direction = "outbound"
                self.outbound += 1
            else:
                direction = "inbound"
            raw = {
                "source": "import",
                "at": m.at.isoformat(),
                "author": m.author,
                "text": m.text,
                "kind": m.kind.value,
                "attachment": m.attachment,
                "line": m.line,
            }
            platform_id, text, sealed_raw, filename = personal.seal_fields(
                subject,
                [
                    f"import:{import_id}:{m.line}",
                    m.text,
                    json.dumps(raw, ensure_ascii=False),
                    m.attachment,
                ],
                at,
            )
            assert platform_id is not None and sealed_raw is not None
            detail: dict[str, object] = {"direction": direction, "message_kind": m.kind.value}
            media = self._media(m, at, detail) if m.attachment else {}
            rows.append(
                ImportedMessageRow(
                    fingerprint=fingerprint,
                    platform_id=platform_id,
                    direction=direction,
                    type=f"import.{m.kind.value}",
                    sent_at=at,
                    text=text,
                    raw=sealed_raw,
                    line=m.line,
                    kind=m.kind.value,
                    media_filename=filename,
                    **media,  # type: ignore[arg-type]
                )
            )
            details.append(detail)
        # Entries first, so each row is stored with the index of its entry; the rows were
        # checked to be new above, and a row that turns out not to be (an import of the same
        # chat committed meanwhile) undoes the whole import.
        entries = [
            personal.entry(
                "import.message",
                subject,
                row.sent_at,
                platform_id_hash=row.fingerprint,
                content=row.raw,
                import_id=import_id,
                line=row.line,
                type=row.type,
                **detail,
            )
            for row, detail in zip(rows, details, strict=True)
        ]
        indexes = append(uow.log, entries, self.now)
        ids = uow.imports.add_messages(
            import_id, self.contact.conversation_id, rows, indexes, self.now
        )
        if len(ids) != len(rows):
            raise ImportFileError(
                self.export.name, "the same chat was imported meanwhile; run the import again"
            )
        latest = max(row.sent_at for row in rows)
        if self.last_at is None or latest > self.last_at:
            self.last_at = latest
        self.added += len(entries)
        self.entries += len(entries)

    def _media(self, m: ChatMessage, at: datetime, detail: dict[str, object]) -> dict[str, object]:
        """Seal and store the attachment if the export holds it; the row's media columns.

        A file the zip does not hold is recorded as missing, one that fails the zip's CRC
        check as damaged (both are counted as missing). A stored file is read back from the
        blob store, which checks it against its SHA-256 address, before the import goes on.
        """
        assert m.attachment is not None
        mime = mimetypes.guess_type(m.attachment)[0] or "application/octet-stream"
        columns: dict[str, object] = {
            "media_id": f"import:{self.import_id}:{m.line}",
            "media_mime_type": mime[:128],
        }
        try:
            data = self.export.media(m.attachment)
        except ImportFileError:
            # The error column is stored in clear: it must not name the file or the export.
            self.media_missing += 1
            detail["media"] = "damaged"
            return {**columns, "media_state": "damaged", "media_error": DAMAGED}
        if data is None:
            self.media_missing += 1
            detail["media"] = "missing"
            return {**columns, "media_state": "missing"}
        sealed = self.uow.personal.seal_bytes(self.contact.subject_id, pack(data), at)
        blob = self.blobs.put(sealed)
        if self.blobs.get(blob) != sealed:
            raise ImportFileError(self.export.name, f"{m.attachment!r} did not read back as stored")
        self.media_stored += 1
        detail["media"] = "stored"
        detail["blob"] = blob
        return {
            **columns,
            "media_sha256": hashlib.sha256(data).hexdigest(),
            "media_state": "stored",
            "media_blob": blob,
        }

    def counts(self) -> ImportCounts:
        return ImportCounts(
            messages_read=self.read,
            messages_added=self.added,
            bad_lines=self.bad_count,
            media_stored=self.media_stored,
            media_missing=self.media_missing,
        )

    def warnings(self) -> tuple[str, ...]:
        found = []
        if self.read and not self.outbound and self.added:
            found.append(
                f"no message is by {self.business!r}: all were stored as the customer's; "
                "check --business-name"
            )
        return tuple(found)
