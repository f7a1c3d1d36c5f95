"""The part of an import that needs no database: reading the export, fingerprinting each
message, sealing it under a data key of its own (DESIGN invariant 4), and building its message
row, which holds nearly all of its log entry (invariant 3). It runs
in the import's sealing process while the importing process writes the previous chunk, or
inline for a small export.

It works in two steps per chunk, because only the database knows what is new: ``propose``
reads a chunk and says which fingerprints and years it holds; the database side answers with a
``Plan`` (which of them are known, the log index and import id to use); then ``seal`` turns
the new messages into rows, and the database side wraps their data keys under the contact's
bucket keys and writes everything.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from chatproof.archive.blobs import BlobStore
from chatproof.archive.entry_sealing import NewDataKey, seal_entries
from chatproof.archive.log import whole_second_entry_time
from chatproof.domain.chat_export import BadLine, ChatMessage, ExportFormat, Kind, parse
from chatproof.services.importing.entries import EntryTime
from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.source import ExportFile
from chatproof.services.media import pack
from chatproof.store._sql import MomentBinder
from chatproof.store.imports import ImportCounts, PreparedMessages

CHUNK = 2000
"""Messages proposed, sealed and written together."""

MAX_REPORTED_BAD_LINES = 50

DAMAGED = "damaged in the export (its zip checksum does not match)"

ORDERED = "i"
"""First character of a time-ordered fingerprint (earlier ones are hex digits only)."""

EPOCH = datetime(1970, 1, 1)

MINUTES_REMEMBERED = 1440
"""Minutes whose messages are counted for fingerprints: a day of busy minutes, more than the
hour a clock goes back; memory stays flat however long the chat is."""


@dataclass(frozen=True)
class SealingTask:
    """Everything the sealing side needs: the fingerprint key, but neither the master key nor a
    bucket key."""

    path: Path
    format: ExportFormat
    timezone: str
    business: str
    subject_id: str
    conversation_id: int
    retention_class: str
    fingerprint: Callable[[str], str] = field(repr=False)
    driver: str
    """The database URL's driver name (``sqlite``, ``postgresql+psycopg``): times are bound
    as its dialect binds them."""
    received_at: datetime
    earlier_fingerprints: bool = False
    """Also propose fingerprints as earlier imports stored them (``Proposal``)."""
    chunk: int = CHUNK


_Minute = tuple[str, str, str, Any, dict[tuple[object, ...], int]]
"""A distinct time of the export: its fingerprint prefix, its ISO form as the export wrote it,
as the log writes it (UTC) and as bound for the database, and how many identical messages it
has had so far"""

_Described = tuple[str, ChatMessage, _Minute, str, str, str]
"""fingerprint, message, time, kind, message type, direction"""

_KINDS = {kind: (kind.value, f"import.{kind.value}") for kind in Kind}


@dataclass(frozen=True)
class Proposal:
    fingerprints: list[str]
    earlier_fingerprints: list[str] | None = None
    """The same messages' fingerprints as imports before time-ordered fingerprints stored
    them, for a conversation that holds such imports."""


@dataclass(frozen=True)
class Plan:
    known: frozenset[int]
    """Positions in the chunk of messages stored already."""
    first_index: int
    import_id: int


@dataclass(frozen=True)
class SealedChunk:
    data_keys: list[tuple[int, list[NewDataKey]]]
    """Per start year, the data keys the chunk's content is sealed under, to be wrapped under
    that year's bucket key."""
    messages: PreparedMessages
    times: list[EntryTime]
    """Per message, what its log entry takes besides the row (``entries``)."""
    position: int
    """Bytes of the export read so far."""


@dataclass
class Tally:
    """What one export held, reported with the import's summary."""

    read: int = 0
    added: int = 0
    bad_count: int = 0
    bad: list[BadLine] = field(default_factory=list)
    outbound: int = 0
    media_stored: int = 0
    media_missing: int = 0
    last_at: datetime | None = None

    def counts(self) -> ImportCounts:
        return ImportCounts(
            messages_read=self.read,
            messages_added=self.added,
            bad_lines=self.bad_count,
            media_stored=self.media_stored,
            media_missing=self.media_missing,
        )


class ChunkSealer:
    """The sealing side of one export's import."""

    def __init__(self, task: SealingTask, export: ExportFile, blobs: BlobStore) -> None:
        self.task = task
        self.export = export
        self.blobs = blobs
        self.tally = Tally()
        self._tz = ZoneInfo(task.timezone)
        self._messages = self._read(parse(export.blocks(), task.format))
        self._pending: deque[tuple[list[ChatMessage], list[str], list[_Minute]]] = deque()
        self._moment = MomentBinder(make_url(f"{task.driver}://").get_dialect()())
        # Oldest first: popping the oldest minute from a plain dict would scan past every
        # slot deleted before it.
        self._minutes: OrderedDict[datetime, _Minute] = OrderedDict()
        self._key = f"{task.subject_id}\x00"
        self._import_id = 0
        self._data_keys: list[tuple[int, list[NewDataKey]]] = []

    def _read(self, parsed: Iterator[ChatMessage | BadLine]) -> Iterator[ChatMessage]:
        tally = self.tally
        for item in parsed:
            if isinstance(item, BadLine):
                tally.bad_count += 1
                if len(tally.bad) < MAX_REPORTED_BAD_LINES:
                    tally.bad.append(item)
                continue
            tally.read += 1
            yield item

    def propose(self) -> Proposal | None:
        """The next chunk's fingerprints, or None at the end of the export."""
        chunk = list(islice(self._messages, self.task.chunk))
        if not chunk:
            return None
        fingerprints, digests, times = self._fingerprints(chunk)
        self._pending.append((chunk, fingerprints, times))
        earlier = digests if self.task.earlier_fingerprints else None
        return Proposal(fingerprints, earlier)

    def _fingerprints(self, chunk: list[ChatMessage]) -> tuple[list[str], list[str], list[_Minute]]:
        """Each message's fingerprint as stored, the keyed hash alone, as imports stored it
        before, and its time in every form the import writes.

        The hash covers the chat, the time, author, kind, attachment and text, and how many
        identical messages came before in that minute, also when the minute comes round again
        (the clocks went back an hour in October). The stored fingerprint puts the export's
        time in front (seconds, hex), 64 characters in all: rows of one import then go to the
        end of the unique index's run of that time instead of to a random page each; the
        time is in the row and the entry in clear anyway.
        """
        minutes, key, keyed_hash = self._minutes, self._key, self.task.fingerprint
        fingerprints: list[str] = []
        digests: list[str] = []
        times: list[_Minute] = []
        for m in chunk:
            minute = minutes.get(m.at)
            if minute is None:
                if len(minutes) >= MINUTES_REMEMBERED:
                    minutes.popitem(last=False)
                minute = minutes[m.at] = self._minute(m.at)
            prefix, local, _, _, counts = minute
            identity = (m.author, m.kind, m.attachment, m.text)
            seen = counts.get(identity, 0)
            counts[identity] = seen + 1
            digest = keyed_hash(
                f"{key}{local}\x00{m.author}\x00{m.kind.value}\x00{m.attachment or ''}\x00"
                f"{m.text}\x00{seen}"
            )
            digests.append(digest)
            fingerprints.append(prefix + digest[:53])
            times.append(minute)
        return fingerprints, digests, times

    def _minute(self, at: datetime) -> _Minute:
        """A new distinct time. The zone's offset is that of ``at.replace(tzinfo=zone)`` (the
        earlier one where a clock went back), taken without making that datetime."""
        utc = at - self._tz.utcoffset(at)
        iso = utc.isoformat()
        seconds = int((at - EPOCH).total_seconds())
        prefix = f"{ORDERED}{seconds:010x}"
        return (
            prefix,
            at.isoformat(),
            whole_second_entry_time(iso),
            self._moment.whole_second(utc, iso),
            {},
        )

    def seal(self, plan: Plan) -> SealedChunk:
        """Seal the oldest proposed chunk's new messages as ``plan`` says."""
        chunk, fingerprints, times = self._pending.popleft()
        self._import_id = plan.import_id
        if plan.known:
            triples = enumerate(zip(fingerprints, chunk, times, strict=True))
            fresh = [triple for i, triple in triples if i not in plan.known]
        else:
            fresh = list(zip(fingerprints, chunk, times, strict=True))
        return self._seal(fresh, plan.first_index)

    def _seal(self, fresh: list[tuple[str, ChatMessage, _Minute]], first_index: int) -> SealedChunk:
        tally, business = self.tally, self.task.business
        import_id = self._import_id
        fields: list[list[bytes]] = []
        described: list[_Described] = []
        for fingerprint, m, minute in fresh:
            kind, message_type = _KINDS[m.kind]
            if m.kind is Kind.SYSTEM:
                direction = "system"
            elif m.author == business:
                direction = "outbound"
                tally.outbound += 1
            else:
                direction = "inbound"
            raw = (
                f'{{"source": "import", "at": "{minute[1]}", "author": '
                f'{encode_basestring(m.author)}, "text": {encode_basestring(m.text)}, '
                f'"kind": "{kind}", "attachment": '
                f"{encode_basestring(m.attachment) if m.attachment else 'null'}, "
                f'"line": {m.line}}}'
            )
            values = [f"import:{import_id}:{m.line}".encode(), raw.encode()]
            if m.text:
                values.append(m.text.encode())
            if m.attachment:
                values.append(m.attachment.encode())
            fields.append(values)
            described.append((fingerprint, m, minute, kind, message_type, direction))
        self._data_keys = []
        sealed = self._seal_fields(fields, [d[1].at.year for d in described])
        return self._rows(described, sealed, first_index)

    def _seal_fields(self, fields: list[list[bytes]], years: list[int]) -> list[list[bytes]]:
        """Each message's fields under its own data key, the keys told apart by start year
        (the bucket that wraps them)."""
        subject = self.task.subject_id
        out: list[list[bytes]] = [[] for _ in fields]
        for year in sorted(set(years)):
            positions = [i for i, y in enumerate(years) if y == year]
            keys, sealed = seal_entries(subject, [fields[i] for i in positions])
            self._data_keys.append((year, keys))
            for i, item in zip(positions, sealed, strict=True):
                out[i] = item
        return out

    def _rows(
        self, described: list[_Described], sealed: list[list[bytes]], first_index: int
    ) -> SealedChunk:
        task, tally = self.task, self.tally
        received = self._moment(task.received_at)
        conversation_id = task.conversation_id
        values: list[tuple[Any, ...]] = []
        lines: list[tuple[int, str]] = []
        media: dict[int, tuple[Any, ...]] = {}
        times: list[EntryTime] = []
        index = first_index
        last = None if tally.last_at is None else tally.last_at.replace(tzinfo=None)
        # Sealed bytes as bytearrays, which the driver binds fastest (``Statements``).
        for (fingerprint, m, minute, kind, message_type, direction), fields in zip(
            described, sealed, strict=True
        ):
            _, _, logged, sent_at, _ = minute
            at = m.at
            if m.attachment:
                media[len(values)] = self._media(m, bytearray(fields[-1]))
            values.append(
                (
                    conversation_id,
                    fingerprint,
                    bytearray(fields[0]),
                    direction,
                    message_type,
                    sent_at,
                    received,
                    bytearray(fields[2]) if m.text else None,
                    bytearray(fields[1]),
                    index,
                )
            )
            lines.append((m.line, kind))
            times.append((logged, at.year))
            if last is None or at > last:
                last = at
            index += 1
        tally.added += len(values)
        if last is not None:
            tally.last_at = last.replace(tzinfo=self._tz)
        return SealedChunk(
            self._data_keys, PreparedMessages(values, lines, media), times, self.export.position
        )

    def _media(self, m: ChatMessage, filename: bytearray) -> tuple[Any, ...]:
        """Seal and store the attachment if the export holds it; the row's ``MEDIA_COLUMNS``.

        A file the zip does not hold is recorded as missing, one that fails the zip's CRC
        check as damaged (both are counted as missing). A stored file is read back from the
        blob store, which checks it against its SHA-256 address, before the import goes on.
        """
        assert m.attachment is not None
        media_id = f"import:{self._import_id}:{m.line}"
        mime = (mimetypes.guess_type(m.attachment)[0] or "application/octet-stream")[:128]
        try:
            data = self.export.media(m.attachment)
        except ImportFileError:
            # The error column is stored in clear: it must not name the file or the export.
            self.tally.media_missing += 1
            return (media_id, mime, None, filename, "damaged", None, DAMAGED)
        if data is None:
            self.tally.media_missing += 1
            return (media_id, mime, None, filename, "missing", None, None)
        keys, ((sealed,),) = seal_entries(self.task.subject_id, [[pack(data)]])
        self._data_keys.append((m.at.year, keys))
        blob = self.blobs.put(sealed)
        if self.blobs.get(blob) != sealed:
            raise ImportFileError(self.export.name, f"{m.attachment!r} did not read back as stored")
        self.tally.media_stored += 1
        return (media_id, mime, hashlib.sha256(data).hexdigest(), filename, "stored", blob, None)
