"""Deep verification (DESIGN invariants 3 and 4): beyond the Merkle tree, every record the log
describes must agree with its entry, so a row changed, added or removed behind the log's back
is found even though the log itself verifies.

- Each message, status, platform event and quarantined body has an entry with the same kind,
  platform id (keyed hash), subject, time and sealed bytes; each entry of those kinds has its
  row. The sealed bytes are compared by hash, so nothing is opened and no key is needed.
- Each stored media blob exists, hashes to its name, and has its ``media.stored`` entry.
- Each entry's data key is in the key store, in a bucket of the entry's subject, retention
  class and start year, unless a reclassification entry moved it there.
- Each shredded bucket key has the entry that shredded it; each bucket key wrapped under a
  rotated master key version has the entry of that rotation.

Everything that disagrees is named (``DeepReport.disagreements``); nothing is changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from chatproof.archive.blobs import BlobStore
from chatproof.archive.envelope import KEY_ID_BYTES
from chatproof.archive.errors import ArchiveError, ContentErased
from chatproof.store import UnitOfWork
from chatproof.store.sealed_records import BucketRow, SealedMessage

_MESSAGE_KINDS = ("message.", "import.message")
_RECORD_KINDS = (*_MESSAGE_KINDS, "status.", "event.", "webhook.quarantined")
_SHREDDING_KINDS = ("subject.shredded", "retention.shredded")
_RECLASSIFIED = "retention.reclassified"
_ROTATED = "keys.master_rotated"
_MEDIA = "media.stored"

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Disagreement:
    what: str
    problem: str
    entry: int | None = None

    def __str__(self) -> str:
        where = f" (entry {self.entry})" if self.entry is not None else ""
        return f"{self.what}{where}: {self.problem}"


@dataclass
class DeepReport:
    entries: int = 0
    messages: int = 0
    statuses: int = 0
    events: int = 0
    quarantined: int = 0
    media: int = 0
    data_keys: int = 0
    bucket_keys: int = 0
    sealed_twice: int = 0
    """Messages whose row and entry hold the same payload under two data keys (opened to
    compare)."""
    unverifiable: int = 0
    """Of those, the ones already shredded, which can no longer be compared."""
    disagreements: list[Disagreement] = field(default_factory=list)

    def add(self, what: str, problem: str, entry: int | None = None) -> None:
        self.disagreements.append(Disagreement(what, problem, entry))


@dataclass(frozen=True, slots=True)
class _Entry:
    index: int
    kind: str
    time: str
    retention: tuple[str, int]
    subject: str | None
    platform_id: str | None
    content: bytes | None
    """SHA-256 of the sealed content, when the entry has one."""
    attributes: dict


class _LogIndex:
    """What deep verification needs of the log, read in one pass over the leaves."""

    def __init__(self) -> None:
        self.records: dict[int, _Entry] = {}
        self.by_content: dict[bytes, int] = {}
        self.messages_by_platform_id: dict[str, int] = {}
        self.media: dict[tuple[str | None, str], int] = {}
        self.content_keys: dict[bytes, _Entry] = {}
        self.reclassified: dict[bytes, str] = {}
        self.shredded_subjects: set[str] = set()
        self.shredded_buckets: set[str] = set()
        self.rotated_to = 0

    def add(self, index: int, leaf: bytes) -> None:
        try:
            doc = json.loads(leaf)
            retention = doc["retention"]
            entry = _Entry(
                index,
                doc["kind"],
                doc["time"],
                (retention["class"], retention["start_year"]),
                doc.get("subject"),
                doc.get("platform_id"),
                None,
                doc.get("attributes", {}),
            )
            sealed = base64.b64decode(doc["content"]) if "content" in doc else None
        except (ValueError, KeyError, TypeError, binascii.Error):
            return  # not an envelope: the Merkle verification names it
        if sealed is not None:
            digest = hashlib.sha256(sealed).digest()
            entry = replace(entry, content=digest)
            self.by_content[digest] = index
            self.content_keys[sealed[1 : 1 + KEY_ID_BYTES]] = entry
        kind = entry.kind
        if kind.startswith(_RECORD_KINDS):
            self.records[index] = entry
            if kind.startswith(_MESSAGE_KINDS) and entry.platform_id:
                self.messages_by_platform_id.setdefault(entry.platform_id, index)
            if "blob" in entry.attributes:  # an imported message names its media itself
                self.media[entry.platform_id, str(entry.attributes["blob"])] = index
        elif kind == _MEDIA:
            self.media[entry.platform_id, str(entry.attributes.get("blob"))] = index
        elif kind == _RECLASSIFIED:
            for key in entry.attributes.get("data_keys", []):
                self.reclassified[bytes.fromhex(key)] = str(entry.attributes.get("after"))
        elif kind in _SHREDDING_KINDS:
            if kind == "subject.shredded" and entry.subject:
                self.shredded_subjects.add(entry.subject)
            bucket = entry.attributes.get("bucket")
            if bucket:
                self.shredded_buckets.add(str(bucket))
        elif kind == _ROTATED:
            self.rotated_to = max(self.rotated_to, int(entry.attributes.get("to_version", 0)))


def deep_verify(
    uow_factory: Callable[[], UnitOfWork], blobs: BlobStore, *, progress: Progress | None = None
) -> DeepReport:
    """Compare every record with its log entry; return what was checked and what disagrees."""
    report = DeepReport()
    log = _LogIndex()
    tick = progress or (lambda stage, done: None)
    with uow_factory() as uow:
        for index, leaf in uow.log.iter_leaves():
            log.add(index, leaf)
            report.entries += 1
            if report.entries % 10_000 == 0:
                tick("log entries", report.entries)
        matched: set[int] = set()
        _check_messages(uow, blobs, log, report, matched, tick)
        _check_by_content(uow, log, report, matched, tick)
        for index, entry in sorted(log.records.items()):
            if index not in matched:
                report.add(f"{entry.kind} entry", "no stored record agrees with it", index)
        _check_keys(uow, log, report, tick)
    return report


def _compare(report: DeepReport, what: str, entry: _Entry, expected: dict[str, object]) -> None:
    """Name every field in which the entry differs from what the record says."""
    actual = {
        "kind": entry.kind,
        "time": entry.time,
        "subject": entry.subject,
        "platform id": entry.platform_id,
        "sealed content": entry.content,
        **{f"attribute {k}": entry.attributes.get(k) for k in ("type", "event", "quarantine")},
    }
    for name, value in expected.items():
        if actual[name] != value:
            shown = "differs" if name == "sealed content" else f"is {actual[name]!r}, not {value!r}"
            report.add(what, f"the log entry's {name} {shown}", entry.index)


def _time(moment: datetime | None) -> str | None:
    """As envelopes write times: UTC, milliseconds, ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_messages(
    uow: UnitOfWork,
    blobs: BlobStore,
    log: _LogIndex,
    report: DeepReport,
    matched: set[int],
    tick: Progress,
) -> None:
    media_rows: set[tuple[str, str]] = set()
    for message in uow.sealed.all_messages():
        report.messages += 1
        what = f"message {message.id}"
        index = message.log_index
        if index is None:
            index = log.messages_by_platform_id.get(message.platform_id_hash)
        entry = log.records.get(index) if index is not None else None
        if entry is None:
            report.add(what, "has no log entry")
        else:
            matched.add(entry.index)
            imported = message.type.startswith("import.")
            expected: dict[str, object] = {
                "kind": "import.message" if imported else f"message.{message.direction}",
                "time": _time(message.sent_at),
                "subject": message.subject_id,
                "platform id": message.platform_id_hash,
                "attribute type": message.type[:32],
            }
            raw_digest = hashlib.sha256(message.raw).digest()
            if entry.content == raw_digest or not _sealed_twice(uow, message, entry, report):
                expected["sealed content"] = raw_digest
            _compare(report, what, entry, expected)
        key = message.raw[1 : 1 + KEY_ID_BYTES]
        if any(f[1 : 1 + KEY_ID_BYTES] != key for f in message.fields):
            report.add(what, "a sealed field is not under the data key of its log entry")
        if message.media_state == "stored" and message.media_blob:
            report.media += 1
            media_rows.add((message.platform_id_hash, message.media_blob))
            _check_blob(blobs, log, report, what, message.platform_id_hash, message.media_blob)
        if report.messages % 10_000 == 0:
            tick("messages", report.messages)
    for (platform_id, blob), index in sorted(log.media.items(), key=lambda item: item[1]):
        if (platform_id, blob) not in media_rows:
            report.add(f"media blob {blob}", "no message stores it as its media", index)


def _sealed_twice(
    uow: UnitOfWork, message: SealedMessage, entry: _Entry, report: DeepReport
) -> bool:
    """Whether the row and the entry hold the same payload sealed twice (messages sent by the
    outbox are): both are opened and compared, nothing is shown. Content already shredded
    cannot be compared; it is counted, not named."""
    stored = uow.log.entry(entry.index)
    if stored is None or entry.content is None:
        return False
    sealed = base64.b64decode(json.loads(stored.leaf)["content"])
    try:
        same = uow.keystore.unseal(message.subject_id, sealed) == uow.keystore.unseal(
            message.subject_id, message.raw
        )
    except ContentErased:
        report.unverifiable += 1
        return True
    except ArchiveError:
        return False
    if same:
        report.sealed_twice += 1
    return same


def _check_blob(
    blobs: BlobStore, log: _LogIndex, report: DeepReport, what: str, platform_id: str, blob: str
) -> None:
    path = blobs.path_for(blob)
    if not path.is_file():
        report.add(what, f"its media blob {blob} is missing")
    elif hashlib.sha256(path.read_bytes()).hexdigest() != blob:
        report.add(what, f"its media blob {blob} does not hash to its name")
    if (platform_id, blob) not in log.media:
        report.add(what, f"no media.stored log entry names its media blob {blob}")


def _check_by_content(
    uow: UnitOfWork, log: _LogIndex, report: DeepReport, matched: set[int], tick: Progress
) -> None:
    """Statuses, events and quarantined bodies: found by their sealed bytes."""

    def entry_for(what: str, sealed: bytes) -> _Entry | None:
        index = log.by_content.get(hashlib.sha256(sealed).digest())
        entry = log.records.get(index) if index is not None else None
        if entry is None:
            report.add(what, "has no log entry holding its sealed bytes (changed, or added)")
        else:
            matched.add(entry.index)
        return entry

    after = 0
    while statuses := uow.sealed.statuses(after=after):
        for status in statuses:
            report.statuses += 1
            entry = entry_for(f"status {status.id}", status.raw)
            if entry is not None:
                expected = {"kind": f"status.{status.status}", "time": _time(status.at)}
                expected["platform id"] = status.platform_id_hash
                _compare(report, f"status {status.id}", entry, expected)
        after = statuses[-1].id
        tick("statuses", report.statuses)
    after = 0
    while events := uow.sealed.events(after=after):
        for event in events:
            report.events += 1
            entry = entry_for(f"event {event.id}", event.raw)
            if entry is not None:
                expected = {"kind": f"event.{event.field}", "attribute event": event.kind[:64]}
                if event.at is not None:
                    expected["time"] = _time(event.at)
                _compare(report, f"event {event.id}", entry, expected)
        after = events[-1].id
        tick("events", report.events)
    after = 0
    while bodies := uow.sealed.quarantined(after=after):
        for body in bodies:
            report.quarantined += 1
            entry = entry_for(f"quarantined body {body.id}", body.body)
            if entry is not None:
                expected = {"kind": "webhook.quarantined", "attribute quarantine": body.id}
                _compare(report, f"quarantined body {body.id}", entry, expected)
        after = bodies[-1].id


def _check_keys(uow: UnitOfWork, log: _LogIndex, report: DeepReport, tick: Progress) -> None:
    buckets: dict[tuple[str, int], BucketRow] = {}
    after: tuple[str, int] = ("", -1)
    while rows := uow.sealed.bucket_rows(after=after):
        for row in rows:
            report.bucket_keys += 1
            buckets[row.bucket_id, row.generation] = row
            _check_bucket(log, report, row)
        after = (rows[-1].bucket_id, rows[-1].generation)
    seen: set[bytes] = set()
    key_after = b""
    while keys := uow.sealed.data_keys(after=key_after):
        for key in keys:
            report.data_keys += 1
            entry = log.content_keys.get(key.key_id)
            if entry is None:
                continue
            seen.add(key.key_id)
            bucket = buckets.get((key.bucket_id, key.generation))
            what = f"data key {key.key_id.hex()}"
            if bucket is None:
                report.add(what, "its bucket key row is missing", entry.index)
                continue
            if bucket.subject_id != entry.subject:
                report.add(what, "is in a bucket of another data subject", entry.index)
            expected = (log.reclassified.get(key.key_id, entry.retention[0]), entry.retention[1])
            if (bucket.retention_class, bucket.start_year) != expected:
                report.add(
                    what,
                    f"is in bucket {bucket.retention_class}/{bucket.start_year}, but its entry "
                    f"says {expected[0]}/{expected[1]} and no reclassification moved it",
                    entry.index,
                )
        key_after = keys[-1].key_id
        tick("keys", report.data_keys)
    for key_id, entry in sorted(log.content_keys.items(), key=lambda item: item[1].index):
        if key_id not in seen:
            report.add(f"data key {key_id.hex()}", "is missing from the key store", entry.index)


def _check_bucket(log: _LogIndex, report: DeepReport, row: BucketRow) -> None:
    what = f"bucket key {row.bucket_id}#{row.generation}"
    if row.shredded_at is not None and not (
        row.subject_id in log.shredded_subjects or row.bucket_id in log.shredded_buckets
    ):
        report.add(what, f"shredded on {row.shredded_at:%Y-%m-%d} without a log entry")
    if row.shredded_at is None and row.master_version > max(1, log.rotated_to):
        report.add(
            what,
            f"wrapped under master key version {row.master_version}, but no log entry records "
            "a rotation to it",
        )


def summary(report: DeepReport) -> str:
    text = (
        f"{report.messages} messages, {report.media} media, {report.statuses} statuses, "
        f"{report.events} events, {report.quarantined} quarantined bodies, "
        f"{report.data_keys} data keys and {report.bucket_keys} bucket keys agree with the log"
    )
    if report.sealed_twice or report.unverifiable:
        text += (
            f" ({report.sealed_twice} messages sealed twice were opened to compare; "
            f"{report.unverifiable} such were shredded and could not be)"
        )
    return text
