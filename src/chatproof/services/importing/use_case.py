"""Importing a WhatsApp chat export into the archive: every message becomes a message row and
an ``import.message`` log entry with its content sealed under the contact's key, the media in
a zip are sealed into the blob store, and one ``import.provenance`` entry records where the
messages came from (file name, SHA-256, format, importer version, who, when, time zone) —
all in one transaction, so a failed import leaves nothing behind (DESIGN invariants 2, 4, 6).

Exports carry no message ids. A message is recognised again by a keyed fingerprint of the
chat, its time, author, kind, attachment and text, and how many identical messages came before
it in the same minute; so re-importing an export adds nothing and a later export of the same
chat adds only what is new.
"""

from __future__ import annotations

import gc
import hashlib
import json
import mimetypes
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

import chatproof
from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.domain.chat_export import (
    BadLine,
    ChatMessage,
    DateOrder,
    Detection,
    Kind,
    UnrecognisedExport,
    detect,
    number_in_file_name,
    parse,
    wa_id_of,
)
from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.source import ExportFile
from chatproof.services.media import pack
from chatproof.store.imports import (
    ImportCounts,
    ImportedContact,
    ImportedMessageRow,
    ImportRecord,
    ImportUnitOfWork,
)

CHUNK = 2000
"""Messages sealed, stored and appended together: bucket lookups, data keys, inserts and log
appends are done per chunk, not per message."""

MAX_REPORTED_BAD_LINES = 50

DAMAGED = "damaged in the export (its zip checksum does not match)"

Progress = Callable[[int, int], None]
"""``progress(bytes_read, bytes_total)``"""


@dataclass(frozen=True)
class ImportOptions:
    business_name: str
    contact: str | None = None
    date_order: DateOrder | None = None
    clock: int | None = None


@dataclass(frozen=True)
class ImportSummary:
    file: str
    sha256: str
    format: str
    confidence: float
    evidence: str
    messages: int
    added: int
    already_imported: int
    bad_lines: int
    bad_line_reports: tuple[BadLine, ...]
    media_stored: int
    media_missing: int
    log_entries: int
    import_id: int | None = None
    conversation_id: int | None = None
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "messages": self.messages,
            "added": self.added,
            "already_imported": self.already_imported,
            "bad_lines": self.bad_lines,
            "bad_line_numbers": [b.line for b in self.bad_line_reports],
            "media_stored": self.media_stored,
            "media_missing": self.media_missing,
            "log_entries": self.log_entries,
            "import_id": self.import_id,
            "conversation_id": self.conversation_id,
            "warnings": list(self.warnings),
        }


def detect_format(export: ExportFile, options: ImportOptions) -> Detection:
    """Raises UnrecognisedExport with the first lines that could not be read."""
    lines = export.lines()
    try:
        return detect(lines, date_order=options.date_order, clock=options.clock)
    except UnrecognisedExport as exc:
        raise UnrecognisedExport(exc.first_lines, export.name) from None
    finally:
        lines.close()  # type: ignore[attr-defined]


def contact_of(export: ExportFile, options: ImportOptions) -> str:
    """The other side's WhatsApp id: ``--contact``, else the number in the file name.

    Raises:
        InvalidPhoneNumber: ``--contact`` is not a phone number.
        ImportFileError: neither gives a number.
    """
    if options.contact:
        return wa_id_of(options.contact)
    found = number_in_file_name(export.name)
    if found is None:
        raise ImportFileError(
            export.name,
            "the file name carries no phone number; give the other side's number with --contact",
        )
    return found


def preview(
    export: ExportFile, options: ImportOptions
) -> tuple[Detection, Iterator[ChatMessage | BadLine]]:
    """What an import would read, without storing anything."""
    detection = detect_format(export, options)
    return detection, parse(export.blocks(), detection.format)


def import_export(
    uow_factory: Callable[[], ImportUnitOfWork],
    blobs: BlobStore,
    export: ExportFile,
    options: ImportOptions,
    *,
    tz: ZoneInfo,
    actor: str,
    now: datetime,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one export in one transaction; nothing is written when nothing is new.

    Raises:
        UnrecognisedExport: the file is not a chat export (nothing was stored).
        ImportFileError, InvalidPhoneNumber: see ``contact_of``.
    """
    detection = detect_format(export, options)
    wa_id = contact_of(export, options)
    sha256 = export.sha256()
    with uow_factory() as uow:
        name = export.chat_name if number_in_file_name(export.name) is None else ""
        contact = uow.imports.ensure_contact(wa_id, name, now)
        file_name = uow.personal.seal_text(contact.subject_id, export.name, now)
        assert file_name is not None
        record = ImportRecord(
            conversation_id=contact.conversation_id,
            file_sha256=sha256,
            file_name=file_name,
            format=detection.format.describe(),
            confidence_pct=round(detection.confidence * 100),
            importer_version=chatproof.__version__,
            timezone=tz.key,
            imported_by=actor,
            imported_at=now,
        )
        import_id = uow.imports.start(record)
        run = _Run(uow, blobs, export, options, contact, import_id, tz, now)
        parsed = parse(export.blocks(), detection.format)
        for chunk in _chunks(run.messages(parsed)):
            with _collector_paused():
                run.store(chunk)
            # Data keys are written as the import goes, not all at the commit: memory stays
            # flat however long the chat is.
            uow.personal.sealer.flush()
            if progress is not None:
                progress(export.position, export.size)
        counts = run.counts()
        summary = ImportSummary(
            file=export.name,
            sha256=sha256,
            format=detection.format.describe(),
            confidence=detection.confidence,
            evidence=detection.order_evidence,
            messages=run.read,
            added=run.added,
            already_imported=run.read - run.added,
            bad_lines=run.bad_count,
            bad_line_reports=tuple(run.bad),
            media_stored=run.media_stored,
            media_missing=run.media_missing,
            log_entries=run.entries + (1 if run.added else 0),
            import_id=import_id if run.added else None,
            conversation_id=contact.conversation_id if run.added else None,
            warnings=run.warnings(),
        )
        if not run.added:
            return summary
        uow.imports.finish(import_id, contact.conversation_id, counts, run.last_at)
        provenance = {
            "file_name": export.name,
            "sha256": sha256,
            "format": record.format,
            "confidence": detection.confidence,
            "evidence": detection.order_evidence,
            "importer_version": record.importer_version,
            "imported_by": actor,
            "imported_at": now.isoformat(),
            "timezone": tz.key,
        }
        content = uow.personal.seal_bytes(
            contact.subject_id, json.dumps(provenance, ensure_ascii=False).encode(), now
        )
        entry = uow.personal.entry(
            "import.provenance",
            contact.subject_id,
            now,
            content=content,
            import_id=import_id,
            sha256=sha256,
            format=record.format,
            confidence_pct=record.confidence_pct,
            importer_version=record.importer_version,
            timezone=tz.key,
            imported_by=actor,
            messages=counts.messages_read,
            added=counts.messages_added,
            bad_lines=counts.bad_lines,
            media_stored=counts.media_stored,
            media_missing=counts.media_missing,
        )
        append(uow.log, [entry], now)
        uow.commit()
    return summary


@contextmanager
def _collector_paused() -> Iterator[None]:
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


def _chunks(items: Iterable[ChatMessage]) -> Iterator[list[ChatMessage]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


class _Run:
    """The state of one import while its chunks are stored."""

    def __init__(
        self,
        uow: ImportUnitOfWork,
        blobs: BlobStore,
        export: ExportFile,
        options: ImportOptions,
        contact: ImportedContact,
        import_id: int,
        tz: ZoneInfo,
        now: datetime,
    ) -> None:
        self.uow = uow
        self.blobs = blobs
        self.export = export
        self.business = options.business_name.strip()
        self.contact = contact
        self.import_id = import_id
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
                    f"import:{self.import_id}:{m.line}",
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
                import_id=self.import_id,
                line=row.line,
                type=row.type,
                **detail,
            )
            for row, detail in zip(rows, details, strict=True)
        ]
        indexes = append(uow.log, entries, self.now)
        ids = uow.imports.add_messages(
            self.import_id, self.contact.conversation_id, rows, indexes, self.now
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
