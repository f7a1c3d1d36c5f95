"""The append-only log: every business-relevant event becomes one numbered entry whose bytes
(the leaf) are the RFC 8785 canonical JSON of its envelope (DESIGN invariants 2 and 3).

The envelope holds no personal data in clear: a pseudonymous subject id, keyed hashes of
platform ids, and personal content only as ciphertext, so the log verifies without any key.
Appending computes the leaf hashes and the complete subtrees they finish (``merkle``), and
writes both through a ``LogRepository`` inside the caller's transaction, so an entry exists
exactly when the event it records was committed.
"""

from __future__ import annotations

import base64
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from chatproof.archive import merkle
from chatproof.archive.errors import ArchiveError
from chatproof.archive.tree_head import SignedTreeHead
from chatproof.archive.verify import WitnessedRoot
from chatproof.archive.witness import WitnessReceipt

ENVELOPE_VERSION = 1


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An event to append. ``attributes`` must hold no personal data; ``content`` is
    already sealed (ciphertext) or absent."""

    kind: str
    at: datetime
    retention_class: str
    start_year: int
    subject_id: str | None = None
    platform_id_hash: str | None = None
    content: bytes | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


class StoredEntry(NamedTuple):
    """(A named tuple: an import makes one per message, and sends them between processes.)"""

    index: int
    leaf: bytes
    kind: str
    subject_id: str | None
    platform_id_hash: str | None
    leaf_hash: bytes


EntryRow = tuple[int, bytes, str, str | None, str | None, bytes]
"""An entry's fields in ``StoredEntry`` order (an entry is one): an import writes hundreds of
thousands, and a plain tuple costs a fraction of a named one to build."""


class LogRepository(ABC):
    """Storage of leaves, complete-subtree hashes and signed tree heads.

    Contract:
    - ``lock_size`` MUST block other appenders until the caller's transaction ends, so entry
      numbers stay dense and unique across processes.
    - Leaves and nodes MUST be written as given and MUST NOT be changed or deleted afterwards.
    - ``node(level, index)`` MUST return the hash of a complete subtree that was written:
      level 0 is an entry's ``leaf_hash``, given with the entry; ``add_nodes`` gets the
      levels above, which a repository MAY drop where it hashes them again from below.
    """

    @abstractmethod
    def lock_size(self) -> int: ...

    @abstractmethod
    def set_size(self, size: int) -> None: ...

    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def node(self, level: int, index: int) -> bytes: ...

    @abstractmethod
    def add_entries(self, entries: Sequence[EntryRow], at: datetime) -> None: ...

    @abstractmethod
    def add_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None: ...

    @abstractmethod
    def entry(self, index: int) -> StoredEntry | None: ...

    @abstractmethod
    def first_by_platform_id(self, platform_id_hash: str) -> int | None:
        """The first entry about a platform id (a message's own entry), if any."""

    @abstractmethod
    def iter_leaves(self, start: int = 0, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        """(index, leaf) in index order, as stored (gaps and extras included)."""

    @abstractmethod
    def recorded_leaf_batches(
        self, batch: int = 10_000
    ) -> Iterator[Sequence[tuple[int, bytes, bytes]]]:
        """(index, leaf, recorded leaf hash) in index order, as stored, in batches: the
        verifier's whole input."""

    @abstractmethod
    def add_head(self, sth: SignedTreeHead) -> None: ...

    @abstractmethod
    def add_receipt(self, receipt: WitnessReceipt) -> None:
        """Keep a witness's evidence that it holds a head."""

    @abstractmethod
    def receipts(self) -> list[WitnessedRoot]: ...

    @abstractmethod
    def heads(self) -> list[SignedTreeHead]:
        """All signed heads, smallest tree first."""

    @abstractmethod
    def latest_head(self) -> SignedTreeHead | None: ...


def envelope(index: int, draft: EntryDraft) -> dict[str, Any]:
    """The JSON object whose canonical form is the leaf."""
    doc: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "index": index,
        "kind": draft.kind,
        "time": entry_time(draft.at),
        "retention": {"class": draft.retention_class, "start_year": draft.start_year},
    }
    if draft.subject_id:
        doc["subject"] = draft.subject_id
    if draft.platform_id_hash:
        doc["platform_id"] = draft.platform_id_hash
    if draft.content is not None:
        doc["content"] = base64.b64encode(draft.content).decode("ascii")
    if draft.attributes:
        doc["attributes"] = dict(draft.attributes)
    return doc


def encode_leaf(index: int, draft: EntryDraft) -> bytes:
    """``canonical_json(envelope(index, draft))``, written out member by member in JCS order
    (a test holds the two equal): every entry the archive takes is encoded here, and building
    the envelope's dictionaries only to sort them again cost half the encoding."""
    # Only the attributes can hold what JCS would write differently; the rest of the envelope
    # is typed by ``EntryDraft``.
    if index > _JCS_INT:
        raise ArchiveError("log envelopes hold no integers beyond ±2^53")
    members = []
    if draft.attributes:
        _refuse_floats(draft.attributes)
        members.append('"attributes":' + _JCS.encode(dict(draft.attributes)))
    if draft.content is not None:
        members.append('"content":"' + base64.b64encode(draft.content).decode("ascii") + '"')
    members.append(f'"index":{index},"kind":{_string(draft.kind)}')
    if draft.platform_id_hash:
        members.append('"platform_id":' + _string(draft.platform_id_hash))
    members.append(
        f'"retention":{{"class":{_string(draft.retention_class)},"start_year":{draft.start_year}}}'
    )
    if draft.subject_id:
        members.append('"subject":' + _string(draft.subject_id))
    members.append(f'"time":"{entry_time(draft.at)}","v":{ENVELOPE_VERSION}')
    return ("{" + ",".join(members) + "}").encode()


_JCS_INT = 2**53 - 1


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of an envelope.

    Envelopes hold only strings, integers, booleans, lists and objects with ASCII keys; for
    those, sorted compact JSON without ASCII escaping is exactly JCS (tests cross-check with
    an independent implementation), and it is several times faster. Floats, whose JCS form
    differs, are refused.
    """
    _refuse_floats(document)
    return _JCS.encode(document).encode()


_JCS = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_string = json.encoder.encode_basestring
"""A JSON string as ``_JCS`` writes it: only quote, backslash and control characters escaped."""


def _refuse_floats(value: object) -> None:
    """Refuse what would make sorted compact JSON differ from JCS: floats, integers beyond
    ±2^53 and non-ASCII keys (JCS sorts keys by UTF-16 code units)."""
    kind = type(value)
    if kind in _PLAIN:
        return
    if kind is int:
        if abs(value) > _JCS_INT:  # type: ignore[arg-type]
            raise ArchiveError("log envelopes hold no integers beyond ±2^53")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not key.isascii():
                raise ArchiveError(f"log envelope keys are ASCII, not {key!r}")
            if type(item) not in _PLAIN:
                _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            if type(item) not in _PLAIN:
                _refuse_floats(item)
    elif isinstance(value, float):
        raise ArchiveError("log envelopes hold no floating-point numbers")
    elif isinstance(value, int) and abs(value) > _JCS_INT:
        raise ArchiveError("log envelopes hold no integers beyond ±2^53")


_PLAIN = frozenset({str, bool, type(None)})
"""Types whose JCS form is sorted compact JSON's, checked by identity (the common case)."""


def entry_time(moment: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``, milliseconds cut off, not rounded. Sliced out of the
    plain ``isoformat()``: an import writes one per message, and the keyword form takes
    three times as long."""
    utc = moment.astimezone(UTC)
    text = utc.isoformat()
    return f"{text[:23]}Z" if utc.microsecond else whole_second_entry_time(text[:19])


def whole_second_entry_time(iso: str) -> str:
    """``entry_time`` of a UTC time of whole seconds whose plain ``isoformat()`` (naive) is
    ``iso``: an import has that form of each time at hand already."""
    return f"{iso}.000Z"


def append(repository: LogRepository, drafts: Sequence[EntryDraft], now: datetime) -> list[int]:
    """Append ``drafts`` as consecutive entries; return their indexes."""
    if not drafts:
        return []
    size = repository.lock_size()
    entries = []
    for index, draft in enumerate(drafts, start=size):
        leaf = encode_leaf(index, draft)
        entries.append(
            StoredEntry(
                index,
                leaf,
                draft.kind,
                draft.subject_id,
                draft.platform_id_hash,
                merkle.leaf_hash(leaf),
            )
        )
    nodes = merkle.batch_append(size, [e.leaf_hash for e in entries], repository.node)
    repository.add_entries(entries, now)
    repository.add_nodes([node for node in nodes if node[0]])
    repository.set_size(size + len(entries))
    return [e.index for e in entries]
