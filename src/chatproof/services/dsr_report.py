"""Producing the access report (GDPR Art. 15) and portable copy (Art. 20) for one person: a zip
with a printable HTML page, the same as PDF, report.json and their media files.

Only the person's own data goes in: the messages of their conversations, their consent
events, gate decisions, labels and notes, retention buckets and the reads of their data
(DESIGN invariant 2 makes these complete). The purposes, legal bases, recipients, transfers and
retention periods come from the record of processing, so the report and the Art. 30 record
never disagree. Producing the report is itself a logged read.
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chatproof.archive.blobs import BlobStore
from chatproof.archive.errors import ContentErased
from chatproof.archive.key_records import BucketKeyRecord
from chatproof.archive.retention import CountedFrom, RetentionClass, duty_ends
from chatproof.domain.access_report import (
    AccessItem,
    AccessReport,
    ConsentItem,
    DecisionItem,
    MessageItem,
    NoteItem,
    RetentionItem,
    redacted,
    to_document,
    to_json,
)
from chatproof.domain.dsr import DsrError
from chatproof.domain.processing import LANGUAGES, Section, SystemFacts, to_html
from chatproof.domain.ropa import record_of_processing
from chatproof.services.access import record_read
from chatproof.services.dsr import find_contact
from chatproof.services.dsr_pdf import report_pdf
from chatproof.services.media import unpack
from chatproof.store import UnitOfWork
from chatproof.store.sending import ContactRef

PROCESSING_SECTIONS = ("2.", "4.", "5.", "6.")
"""Purposes and legal bases, recipients, third-country transfers, retention periods."""


@dataclass(frozen=True, slots=True)
class ReportFile:
    filename: str
    data: bytes
    messages: int


def access_report(
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    contact: str,
    facts: SystemFacts,
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    *,
    by: str,
    now: datetime,
    language: str,
    staff_names: bool = False,
    request_id: int | None = None,
) -> ReportFile:
    """The zip for ``contact`` (id or number). ``staff_names`` only for the DPO's own view.

    Raises:
        DsrError: no such contact or an unknown language.
    """
    if language not in LANGUAGES:
        raise DsrError("language", f"must be one of {', '.join(LANGUAGES)}, not {language!r}")
    media: dict[str, bytes] = {}
    with uow_factory() as uow:
        ref = find_contact(uow, contact)
        report = gather(uow, blobs, ref, classes, tz, now, media)
        report = with_processing(report, facts, language, now)
        record_read(
            uow,
            now,
            by,
            "access_report",
            f"contact:{ref.id}",
            ref.subject_id,
            request=request_id,
            staff_names=staff_names,
        )
        uow.commit()
    shown = report if staff_names else redacted(report)
    document = to_document(shown, language)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.html", to_html(document))
        archive.writestr("report.pdf", report_pdf(document))
        archive.writestr("report.json", json.dumps(to_json(shown), ensure_ascii=False, indent=1))
        for path, data in sorted(media.items()):
            archive.writestr(path, data)
    name = f"access-report-contact-{ref.id}-{now:%Y%m%d}.zip"
    return ReportFile(name, out.getvalue(), len(report.messages))


def with_processing(
    report: AccessReport, facts: SystemFacts, language: str, now: datetime
) -> AccessReport:
    record = record_of_processing(replace(facts, language=language), now.date())
    sections: tuple[Section, ...] = tuple(
        s for s in record.sections if s.heading.startswith(PROCESSING_SECTIONS)
    )
    return replace(report, processing=sections)


def gather(
    uow: UnitOfWork,
    blobs: BlobStore,
    ref: ContactRef,
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    now: datetime,
    media: dict[str, bytes],
) -> AccessReport:
    subject = ref.subject_id
    sealed_name, first_seen = uow.dsr.contact_details(ref.id)
    conversations = uow.dsr.conversations_of(ref.id)
    messages = _messages(uow, blobs, subject, conversations, media)
    notes = [
        NoteItem(n.conversation_id, n.at, n.author, n.text)
        for conversation_id in conversations
        for n in uow.inbox.notes(conversation_id, subject)
    ]
    consents = [
        ConsentItem(
            e.at,
            e.purpose,
            e.action.value,
            e.source.value,
            e.text,
            e.text_version,
            e.proof,
            e.recorded_by,
        )
        for e in uow.sending.consent_events(ref.id)
    ]
    return AccessReport(
        generated_at=now,
        contact_id=ref.id,
        subject_id=subject,
        number=ref.wa_id,
        name=uow.personal.read_text(subject, sealed_name).text,
        first_seen_at=first_seen,
        restricted=uow.dsr.is_restricted(subject),
        held=subject in uow.holds.held_subjects(),
        messages=tuple(messages),
        consents=tuple(consents),
        decisions=tuple(_decisions(uow, subject)),
        labels=uow.inbox.labels_of(conversations),
        notes=tuple(notes),
        retention=tuple(_retention(uow, subject, classes, tz)),
        accesses=tuple(_accesses(uow, subject)),
    )


def _messages(
    uow: UnitOfWork,
    blobs: BlobStore,
    subject: str,
    conversations: list[int],
    media: dict[str, bytes],
) -> list[MessageItem]:
    found: list[MessageItem] = []
    for stored in uow.dsr.messages_of(conversations, subject):
        item = stored.item
        if item.media is not None:
            path, (digest, data) = _media_file(
                uow, blobs, subject, stored.blob, item.media.mime_type
            )
            if path:
                media[path] = data
            item = replace(item, media=replace(item.media, sha256=digest, path=path))
        found.append(item)
    return found


def _media_file(
    uow: UnitOfWork, blobs: BlobStore, subject: str, blob: str, mime: str
) -> tuple[str, tuple[str, bytes]]:
    if not blob or not blobs.path_for(blob).exists():
        return "", ("", b"")
    try:
        data = unpack(uow.personal.unseal_bytes(subject, blobs.get(blob)))
    except ContentErased:
        return "", ("", b"")
    digest = hashlib.sha256(data).hexdigest()
    extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ""
    return f"media/{digest}{extension}", (digest, data)


def _attributes(leaf: bytes) -> tuple[datetime, dict[str, object]]:
    doc = json.loads(leaf)
    return datetime.fromisoformat(doc["time"].replace("Z", "+00:00")), doc.get("attributes", {})


def _decisions(uow: UnitOfWork, subject: str) -> list[DecisionItem]:
    found = []
    for _, leaf in uow.dsr.entries_about(subject, ["policy.decision"]):
        at, a = _attributes(leaf)
        found.append(
            DecisionItem(
                at,
                bool(a.get("allowed")),
                str(a.get("rule", "")),
                str(a.get("reason", "")),
                str(a.get("purpose", "")),
                str(a.get("actor", "")),
            )
        )
    return found


def _accesses(uow: UnitOfWork, subject: str) -> list[AccessItem]:
    found = []
    for _, leaf in uow.dsr.entries_about(subject, ["access.read"]):
        at, a = _attributes(leaf)
        found.append(AccessItem(at, str(a.get("action", "")), str(a.get("actor", ""))))
    return found


def _retention(
    uow: UnitOfWork, subject: str, classes: Mapping[str, RetentionClass], tz: ZoneInfo
) -> list[RetentionItem]:
    latest: dict[str, BucketKeyRecord] = {}
    for row in uow.keys.bucket_keys_of_subject(subject):
        known = latest.get(row.bucket_id)
        if known is None or row.generation > known.generation:
            latest[row.bucket_id] = row
    held = subject in uow.holds.held_subjects()
    last = uow.activity.conversation_ends([subject]).get(subject)
    items = []
    for row in sorted(latest.values(), key=lambda r: (r.start_year, r.retention_class)):
        cls = classes.get(row.retention_class)
        basis = cls.legal_basis if cls else ""
        deleted: date | None = None
        if row.shredded_at is not None:
            deleted = row.shredded_at.astimezone(tz).date()
        elif not held and cls is not None:
            deleted = _ends(cls, row.start_year, tz, last).date()
        erased = row.shredded_at is not None
        items.append(RetentionItem(row.retention_class, row.start_year, basis, deleted, erased))
    return items


def _ends(cls: RetentionClass, year: int, tz: ZoneInfo, last: datetime | None) -> datetime:
    if cls.counted_from is CountedFrom.END_OF_CALENDAR_YEAR:
        return duty_ends(cls, year, tz)
    begins, year_ends = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    return duty_ends(cls, year, tz, conversation_end=max(last or year_ends, begins))


def accesses_of(uow_factory: Callable[[], UnitOfWork], contact: str) -> list[AccessItem]:
    """Every recorded read of one person's data, oldest first: the access log filtered by
    person, whichever conversation, consent history or export the read went through.

    Raises:
        DsrError: no such contact.
    """
    with uow_factory() as uow:
        return _accesses(uow, find_contact(uow, contact).subject_id)
