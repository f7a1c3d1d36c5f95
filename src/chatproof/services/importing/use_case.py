"""Importing a WhatsApp chat export into the archive: every message becomes a message row and
an ``import.message`` log entry with its content sealed under the contact's key, the media in
a zip are sealed into the blob store, and one ``import.provenance`` entry records where the
messages came from (file name, SHA-256, format, importer version, who, when, time zone) —
all in one transaction, so a failed import leaves nothing behind (DESIGN invariants 2, 4, 6).

Exports carry no message ids. A message is recognised again by a keyed fingerprint of the
chat, its time, author, kind, attachment and text, and how many identical messages came before
it in the same minute; so re-importing an export adds nothing and a later export of the same
chat adds only what is new. The fingerprint is stored behind the message's time, so an
import's rows are written in index order; fingerprints stored before that (hash only) are
still recognised.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

import chatproof
from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.domain.chat_export import (
    BadLine,
    ChatMessage,
    DateOrder,
    Detection,
    UnrecognisedExport,
    detect,
    number_in_file_name,
    parse,
    wa_id_of,
)
from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.run import ImportRun
from chatproof.services.importing.sealing import CHUNK, ChunkSealer, SealingTask, Tally
from chatproof.services.importing.sealing_process import SealingProcess
from chatproof.services.importing.source import ExportFile
from chatproof.store.imports import ImportRecord, ImportUnitOfWork

Progress = Callable[[int, int], None]
"""``progress(bytes_read, bytes_total)``"""
FileProgress = Callable[["ExportFile", int, int], None]
"""``progress(file, bytes_read, bytes_total)``, the bytes of that file"""

SEALING_PROCESS_FROM_BYTES = 4 << 20
"""Exports this large (about 40,000 messages) are sealed in a process of their own, on a
machine with a second CPU: below it, starting the process costs more than it saves."""


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
    sealing_process: bool | None = None,
) -> ImportSummary:
    """``import_exports`` for one file."""
    report = None if progress is None else lambda _, done, total: progress(done, total)
    (summary,) = import_exports(
        uow_factory,
        blobs,
        [export],
        options,
        tz=tz,
        actor=actor,
        now=now,
        progress=report,
        sealing_process=sealing_process,
    )
    return summary


def import_exports(
    uow_factory: Callable[[], ImportUnitOfWork],
    blobs: BlobStore,
    exports: Sequence[ExportFile],
    options: ImportOptions,
    *,
    tz: ZoneInfo,
    actor: str,
    now: datetime,
    progress: FileProgress | None = None,
    sealing_process: bool | None = None,
) -> list[ImportSummary]:
    """Import the files in one transaction: a fatal error in any of them imports none.
    A file with nothing new writes nothing. ``sealing_process`` seals in a process of its
    own (None: for large exports, on a machine with two CPUs or more).

    Raises:
        UnrecognisedExport: a file is not a chat export (nothing was stored).
        ImportFileError, InvalidPhoneNumber: see ``contact_of``.
    """
    with uow_factory() as uow:
        summaries = [
            _import_into(uow, blobs, export, options, tz, actor, now, progress, sealing_process)
            for export in exports
        ]
        if any(summary.added for summary in summaries):
            uow.commit()
    return summaries


def _import_into(
    uow: ImportUnitOfWork,
    blobs: BlobStore,
    export: ExportFile,
    options: ImportOptions,
    tz: ZoneInfo,
    actor: str,
    now: datetime,
    progress: FileProgress | None,
    in_process: bool | None,
) -> ImportSummary:
    if in_process is None:
        in_process = export.size >= SEALING_PROCESS_FROM_BYTES and _cpus() > 1
    detection = detect_format(export, options)
    wa_id = contact_of(export, options)
    # Read when first needed: with a sealing process, while it reads the first chunks.
    file_sha256 = cache(export.sha256)
    name = export.chat_name if number_in_file_name(export.name) is None else ""
    contact = uow.imports.ensure_contact(wa_id, name, now)
    record = ImportRecord(
        conversation_id=contact.conversation_id,
        file_sha256="",
        file_name=b"",
        format=detection.format.describe(),
        confidence_pct=round(detection.confidence * 100),
        importer_version=chatproof.__version__,
        timezone=tz.key,
        imported_by=actor,
        imported_at=now,
    )

    def start() -> int:
        """The import's provenance row, written once the file turns out to add something."""
        sealed_name = uow.personal.seal_text(contact.subject_id, export.name, now)
        assert sealed_name is not None
        return uow.imports.start(replace(record, file_name=sealed_name, file_sha256=file_sha256()))

    run = ImportRun(uow, export.name, contact, start, now)
    task = SealingTask(
        path=export.path,
        format=detection.format,
        timezone=tz.key,
        business=options.business_name.strip(),
        subject_id=contact.subject_id,
        conversation_id=contact.conversation_id,
        retention_class=uow.personal.sealer.retention_class,
        fingerprint=uow.imports.fingerprinter(),
        driver=uow.imports.driver(),
        received_at=now,
        earlier_fingerprints=run.earlier_fingerprints,
        chunk=CHUNK,
    )
    report = None
    if progress is not None:

        def report(done: int) -> None:
            progress(export, done, export.size)

    if in_process and hasattr(os, "fork"):
        process = SealingProcess(task, blobs)
        try:
            with collector_paused():
                tally = process.run(run, report)
        finally:
            process.close()
    else:
        sealer = ChunkSealer(task, export, blobs)
        with collector_paused():
            while (proposal := sealer.propose()) is not None:
                run.write(sealer.seal(run.plan(proposal)))
                if report is not None:
                    report(export.position)
        tally = sealer.tally
    run.close()
    sha256 = file_sha256()
    counts = tally.counts()
    summary = ImportSummary(
        file=export.name,
        sha256=sha256,
        format=detection.format.describe(),
        confidence=detection.confidence,
        evidence=detection.order_evidence,
        messages=tally.read,
        added=tally.added,
        already_imported=tally.read - tally.added,
        bad_lines=tally.bad_count,
        bad_line_reports=tuple(tally.bad),
        media_stored=tally.media_stored,
        media_missing=tally.media_missing,
        log_entries=tally.added + (1 if tally.added else 0),
        import_id=run.import_id,
        conversation_id=contact.conversation_id if tally.added else None,
        warnings=_warnings(tally, options.business_name),
    )
    if run.import_id is None:
        return summary
    uow.imports.finish(run.import_id, contact.conversation_id, counts, tally.last_at)
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
        import_id=run.import_id,
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
    uow.personal.sealer.flush()
    return summary


@contextmanager
def collector_paused() -> Iterator[None]:
    """An import builds millions of short-lived objects and no cycles; the cycle collector's
    walks over the heap meanwhile cost a tenth of its time."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _warnings(tally: Tally, business_name: str) -> tuple[str, ...]:
    if tally.read and tally.added and not tally.outbound:
        return (
            f"no message is by {business_name.strip()!r}: all were stored as the customer's; "
            "check --business-name",
        )
    return ()


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
