"""The tables of a GoBD export, written as they are read (DESIGN invariants 4 and 6): a page of
rows, the key rows it needs, opened, formatted and written, then the next page, so memory does
not grow with the archive. Large periods are split over two processes by message id."""

from __future__ import annotations

import csv
import hashlib
import mimetypes
import multiprocessing
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from chatproof.archive.blobs import BlobStore
from chatproof.archive.bulk_open import BulkOpener
from chatproof.archive.errors import ContentErased
from chatproof.archive.keystore import KeyStore
from chatproof.domain.gdpdu import (
    DIALECT,
    TableSpec,
    escape_text,
    format_date,
)
from chatproof.services.gobd import tables as spec
from chatproof.services.gobd.summary import ExportSummary
from chatproof.services.media import unpack
from chatproof.store import tables as t
from chatproof.store.database import make_engine
from chatproof.store.gobd import Entry, SqlExportSource, as_utc
from chatproof.store.keys import SqlAlchemyKeyRepository
from chatproof.store.personal import SealingPolicy
from chatproof.store.versioned_sealing import VersionedSealingPolicy

DEFAULT_SPLIT_ABOVE = 100_000
"""Periods with more messages than this are exported by two processes, one per half of the
message ids, each writing its own part of messages.csv and media.csv."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs to read and open messages on its own connection: the
    database URL and the sealing policy (master keys), handed over in memory, never written."""

    database_url: str
    sealing: SealingPolicy
    split_above: int = DEFAULT_SPLIT_ABOVE


class TableWriter:
    def __init__(
        self,
        keystore: Callable[[Connection], KeyStore],
        blobs: BlobStore,
        folder: Path,
        classes: set[str],
        summary: ExportSummary,
        tz: ZoneInfo,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.keystore = keystore
        self.blobs = blobs
        self.folder = folder
        self.classes = classes
        self.summary = summary
        self.tz = tz
        self.progress = progress
        self.first: int | None = None
        self.last: int | None = None

    def _note(self, index: int | None) -> None:
        if index is None:
            return
        if self.first is None or index < self.first:
            self.first = index
        if self.last is None or index > self.last:
            self.last = index

    def write_tables(
        self, engine: Engine, start: datetime, end: datetime, worker: WorkerSetup | None
    ) -> None:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                source = SqlExportSource(conn)
                opener = BulkOpener(self.keystore(conn))
                self._contacts(source, opener, start, end)
                self._all_messages(conn, source, opener, start, end, worker)
                self._statuses(source, opener, start, end)
                self._consents(source, start, end)
        self.summary.first_entry = self.first
        self.summary.end_entry = None if self.last is None else self.last + 1

    def _all_messages(
        self,
        conn: Connection,
        source: SqlExportSource,
        opener: BulkOpener,
        start: datetime,
        end: datetime,
        worker: WorkerSetup | None,
    ) -> None:
        """Messages in this process, or the lower half of their ids here and the upper half
        in a worker process at the same time, the parts joined afterwards."""
        m = t.messages.c
        in_period = (m.sent_at >= start, m.sent_at < end)
        total = conn.execute(select(func.count()).where(*in_period)).scalar_one()
        if worker is None or total <= worker.split_above:
            self._messages(source, opener, start, end, total)
            return
        split = conn.execute(
            select(m.id).where(*in_period).order_by(m.id).offset(total // 2).limit(1)
        ).scalar_one()
        job = _PartJob(
            worker.database_url,
            worker.sealing.master_key,
            getattr(worker.sealing, "master_version", 1),
            dict(getattr(worker.sealing, "older_master_keys", {})),
            self.blobs.root,
            self.tz.key,
            frozenset(self.classes),
            self.folder,
            start,
            end,
            split,
        )
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            upper = pool.submit(_write_upper_part, job)
            self._messages(source, opener, start, end, total // 2, last_id=split - 1)
            counts = upper.result()
        for name in (spec.MESSAGES.url, spec.MEDIA.url):
            part = self.folder / f"{name}.part"
            with (self.folder / name).open("ab") as whole, part.open("rb") as tail:
                shutil.copyfileobj(tail, whole, 1 << 20)
            part.unlink()
        for key in ("messages", "not_tax_relevant", "erased", "media_files", "media_missing"):
            setattr(self.summary, key, getattr(self.summary, key) + counts[key])
        self._note(counts["first"])
        self._note(counts["last"])

    def _open_table(self, table: TableSpec, *, part: bool = False) -> tuple[Any, Any]:
        """A table's file with its header line, or (``part``) a headerless part of it."""
        name = f"{table.url}.part" if part else table.url
        handle = (self.folder / name).open("w", encoding="utf-8", newline="")
        writer = csv.writer(
            handle,
            delimiter=DIALECT.column_delimiter,
            quotechar=DIALECT.text_encapsulator,
            lineterminator=DIALECT.record_delimiter,
            quoting=csv.QUOTE_MINIMAL,
        )
        if not part:
            writer.writerow(table.header)
        return handle, writer

    def _prefetch(self, source: SqlExportSource, opener: BulkOpener, sealed: list[bytes]) -> None:
        opener.forget_data_keys()
        self._add_keys(source, opener, sealed)

    def _add_keys(self, source: SqlExportSource, opener: BulkOpener, sealed: list[bytes]) -> None:
        rows = source.data_keys([bytes(s[1:17]) for s in sealed])
        known = opener.known_buckets()
        missing = {r.bucket_id for r in rows if (r.bucket_id, r.generation) not in known}
        opener.add(rows, source.bucket_keys(sorted(missing)) if missing else ())

    def _contacts(
        self, source: SqlExportSource, opener: BulkOpener, start: datetime, end: datetime
    ) -> None:
        handle, writer = self._open_table(spec.CONTACTS)
        with handle:
            for page in _pages(source.contacts(start, end), 1000):
                self._prefetch(source, opener, [s for row in page for s in row[2:4] if s])
                for contact_id, subject, wa_id, name, first_seen in page:
                    seen = as_utc(first_seen)
                    writer.writerow(
                        (
                            contact_id,
                            subject,
                            _open_text(opener, subject, wa_id),
                            escape_text(_open_text(opener, subject, name)),
                            format_date(seen.astimezone(self.tz)),
                            _iso(seen),
                        )
                    )
                    self.summary.contacts += 1

    def _messages(
        self,
        source: SqlExportSource,
        opener: BulkOpener,
        start: datetime,
        end: datetime,
        total: int,
        *,
        first_id: int = 1,
        last_id: int | None = None,
        part: bool = False,
    ) -> None:
        unlinked = _Merge(lambda: source.unlinked_message_entries(start, end))
        handle, writer = self._open_table(spec.MESSAGES, part=part)
        media_handle, media_writer = self._open_table(spec.MEDIA, part=part)
        classes, summary, times = self.classes, self.summary, _Times(self.tz)
        done = 0
        with handle, media_handle:
            for page in source.message_pages(start, end, first_id=first_id, last_id=last_id):
                self._prefetch(source, opener, [s for r in page for s in (r[8], r[9], r[14]) if s])
                rows, noted = [], []
                for r in page:
                    (mid, conv, contact, subject, direction, kind, sent, received, text,
                     raw_head, state, error, mime, blob, filename, media_state, log_index,
                     leaf, delivery) = r  # fmt: skip
                    if text:
                        bucket, opened = opener.bucket_and_open(subject, text)
                    else:
                        bucket, opened = opener.bucket(raw_head), None
                    if bucket.retention_class not in classes:
                        summary.not_tax_relevant += 1
                        continue
                    if log_index is None:
                        entry = unlinked.get(mid)
                        if entry is not None:
                            log_index, leaf = entry.index, entry.leaf_hash
                    if log_index is not None:
                        noted.append(log_index)
                    erased_on = ""
                    body = ""
                    if text:
                        if opened is None:
                            erased_on = bucket.shredded_at.date().isoformat()  # type: ignore[union-attr]
                            summary.erased += 1
                        else:
                            body = escape_text(opened.decode())
                    day, clock, sent_iso = times(sent)
                    rows.append(
                        (
                            mid, conv, contact, direction, kind,
                            "import" if kind.startswith("import.") else
                            ("webhook" if delivery is not None or direction == "inbound"
                             else "outbox"),
                            day, clock, sent_iso, times.iso(received), body, state or "",
                            "" if error is None else error, bucket.retention_class,
                            bucket.start_year, erased_on,
                            "" if log_index is None else log_index,
                            "" if leaf is None else bytes(leaf).hex(),
                        )
                    )  # fmt: skip
                    if mime or blob:
                        media = (mid, subject, mime, blob, filename, media_state)
                        self._media(media_writer, source, opener, media)
                writer.writerows(rows)
                if noted:
                    self._note(min(noted))
                    self._note(max(noted))
                summary.messages += len(rows)
                done += len(page)
                if self.progress is not None:
                    self.progress(done, total)

    def _media(
        self,
        writer: Any,
        source: SqlExportSource,
        opener: BulkOpener,
        media: tuple[int, str, str | None, str | None, bytes | None, str | None],
    ) -> None:
        """The attachment, opened (media blobs are sealed under their own data key) and
        written under the SHA-256 of its bytes."""
        message_id, subject, mime, blob, filename, state = media
        name = _open_text(opener, subject, filename)
        relative, digest, size = "", "", ""
        data = None
        if blob and self.blobs.path_for(blob).exists():
            sealed = self.blobs.get(blob)
            self._add_keys(source, opener, [sealed])
            try:
                data = unpack(opener.open(subject, sealed))
            except ContentErased:
                state = "erased"
        if data is not None:
            digest = hashlib.sha256(data).hexdigest()
            extension = mimetypes.guess_extension((mime or "").split(";")[0].strip()) or ""
            relative = f"media/{digest}{extension}"
            target = self.folder / relative
            if not target.exists():
                target.write_bytes(data)
            size = str(len(data))
            self.summary.media_files += 1
        else:
            self.summary.media_missing += 1
            state = state if state == "erased" else ("missing" if blob else (state or "pending"))
        writer.writerow(
            (message_id, mime or "", escape_text(name), digest, size, relative, state or "")
        )

    def _statuses(
        self, source: SqlExportSource, opener: BulkOpener, start: datetime, end: datetime
    ) -> None:
        handle, writer = self._open_table(spec.STATUSES)
        with handle:
            for page in _pages(source.statuses(start, end), 2000):
                self._prefetch(source, opener, [row[5] for row in page])
                for status_id, mid, status, at, error, raw_head, _, index, leaf in page:
                    if opener.bucket(raw_head).retention_class not in self.classes:
                        continue
                    self._note(index)
                    moment = as_utc(at)
                    local = moment.astimezone(self.tz)
                    writer.writerow(
                        (
                            status_id, mid, status, format_date(local), f"{local:%H:%M:%S}",
                            _iso(moment), "" if error is None else error,
                            "" if index is None else index,
                            "" if leaf is None else bytes(leaf).hex(),
                        )
                    )  # fmt: skip
                    self.summary.statuses += 1

    def _consents(self, source: SqlExportSource, start: datetime, end: datetime) -> None:
        handle, writer = self._open_table(spec.CONSENT_EVENTS)
        with handle:
            for row in source.consent_events(start, end):
                (cid, contact, purpose, action, src, at, recorded_by, text, version, proof,
                 index, leaf) = row  # fmt: skip
                self._note(index)
                moment = as_utc(at)
                local = moment.astimezone(self.tz)
                writer.writerow(
                    (
                        cid, contact, purpose, action, src, format_date(local),
                        f"{local:%H:%M:%S}", _iso(moment), escape_text(recorded_by),
                        escape_text(text), escape_text(version), escape_text(proof),
                        "" if index is None else index,
                        "" if leaf is None else bytes(leaf).hex(),
                    )
                )  # fmt: skip
                self.summary.consent_events += 1


@dataclass(frozen=True)
class _PartJob:
    database_url: str
    master_key: bytes = field(repr=False)
    master_version: int
    older_master_keys: dict[int, bytes] = field(repr=False)
    media_root: Path
    timezone: str
    classes: frozenset[str]
    folder: Path
    start: datetime
    end: datetime
    first_id: int


def _write_upper_part(job: _PartJob) -> dict[str, Any]:
    """In the worker process: messages from ``job.first_id`` on, into the ``.part`` files."""
    engine = make_engine(job.database_url)
    sealing = VersionedSealingPolicy(
        master_key=job.master_key,
        master_version=job.master_version,
        older_master_keys=job.older_master_keys,
    )
    summary = ExportSummary(folder="", zip=None, start="", end="")
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                writer = TableWriter(
                    lambda c: sealing.keystore(SqlAlchemyKeyRepository(c)),
                    BlobStore(job.media_root),
                    job.folder,
                    set(job.classes),
                    summary,
                    ZoneInfo(job.timezone),
                    None,
                )
                source = SqlExportSource(conn)
                opener = BulkOpener(writer.keystore(conn))
                writer._messages(
                    source, opener, job.start, job.end, 0, first_id=job.first_id, part=True
                )
    finally:
        engine.dispose()
    return {
        "messages": summary.messages,
        "not_tax_relevant": summary.not_tax_relevant,
        "erased": summary.erased,
        "media_files": summary.media_files,
        "media_missing": summary.media_missing,
        "first": writer.first,
        "last": writer.last,
    }


class _Times:
    """(local date, local time, ISO 8601 UTC) of stored moments. SQLite hands back text; where
    the zone's offset is whole hours, the local date and hour are computed once per hour and
    minutes and seconds copied, which is most of the export's time formatting saved."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._hours: dict[str, tuple[str, str] | None] = {}

    def __call__(self, value: Any) -> tuple[str, str, str]:
        if isinstance(value, str) and len(value) >= 19:
            key = value[:13]
            cached = self._hours.get(key, False)
            if cached is False:
                base = datetime.fromisoformat(f"{key}:00:00").replace(tzinfo=UTC)
                local = base.astimezone(self.tz)
                offset = local.utcoffset()
                whole = offset is not None and offset.total_seconds() % 3600 == 0
                cached = self._hours[key] = (
                    (format_date(local), f"{local.hour:02d}") if whole else None
                )
            if cached is not None:
                fraction = value[20:23] if len(value) > 20 else "000"
                return (
                    cached[0],
                    f"{cached[1]}:{value[14:19]}",
                    f"{value[:10]}T{value[11:19]}.{fraction}Z",
                )
        moment = as_utc(value)
        local = moment.astimezone(self.tz)
        return format_date(local), f"{local:%H:%M:%S}", _iso(moment)

    def iso(self, value: Any) -> str:
        if isinstance(value, str) and len(value) >= 19:
            fraction = value[20:23] if len(value) > 20 else "000"
            return f"{value[:10]}T{value[11:19]}.{fraction}Z"
        return _iso(as_utc(value))


class _Merge:
    """Looks up entries of rows by ascending id in a stream ordered by id, opened only when
    the first row without its own entry comes (most archives have none)."""

    def __init__(self, open_stream: Callable[[], Iterator[tuple[int, Entry]]]) -> None:
        self._open = open_stream
        self._stream: Iterator[tuple[int, Entry]] | None = None
        self._next: tuple[int, Entry] | None = None

    def get(self, row_id: int) -> Entry | None:
        if self._stream is None:
            self._stream = self._open()
            self._next = next(self._stream, None)
        while self._next is not None and self._next[0] < row_id:
            self._next = next(self._stream, None)
        if self._next is not None and self._next[0] == row_id:
            return self._next[1]
        return None


def _pages(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    page: list[Any] = []
    for row in rows:
        page.append(tuple(row))
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _open_text(opener: BulkOpener, subject: str, sealed: bytes | None) -> str:
    if not sealed:
        return ""
    try:
        return opener.open(subject, sealed).decode()
    except ContentErased:
        return ""


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
