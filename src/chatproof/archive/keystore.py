"""The key hierarchy behind sealed content: master key → bucket keys → data keys (DESIGN
invariant 4).

Every sealed entry has its own data key, stored only wrapped by the bucket key of its data
subject, retention class and start year; bucket keys are stored only wrapped by the master key.
Erasure shreds a bucket key; reclassifying an entry re-wraps its data key under another bucket;
rotating the master key re-wraps bucket keys. None of these changes a sealed byte, so the log,
which hashes sealed bytes, is untouched.

A shredded bucket stays shredded. Content sealed for that bucket afterwards (a customer who
writes again after an erasure, an old chat imported late) goes under a new *generation* of the
bucket: a fresh bucket key row with the next number, which the next erasure or expiry shreds.
"""

from __future__ import annotations

import hmac
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive import envelope
from chatproof.archive.errors import (
    ArchiveError,
    ContentErased,
    ContentIntegrityError,
    KeyIntegrityError,
    MasterKeyError,
    SubjectMismatchError,
    UnknownDataKeyError,
)
from chatproof.archive.keyfiles import MASTER_KEY_BYTES, derive_key
from chatproof.archive.retention import Bucket

DEFAULT_CACHE_SIZE = 4096
DEFAULT_ROTATION_BATCH = 500
MASTER_WRAP_PURPOSE = "bucket-key-wrap"
_CREATE_ATTEMPTS = 3


class BucketState(StrEnum):
    ACTIVE = "active"
    SHREDDED = "shredded"


@dataclass(frozen=True)
class BucketKeyRecord:
    """One generation of one bucket's key, as stored: wrapped, or destroyed with the reason."""

    bucket_id: str
    generation: int
    subject_id: str
    retention_class: str
    start_year: int
    wrapped_key: bytes | None
    master_version: int
    shredded_at: datetime | None = None
    shred_reason: str | None = None
    shredded_by: str | None = None

    def __post_init__(self) -> None:
        if (self.wrapped_key is None) != (self.shredded_at is not None):
            raise ValueError(f"{self.name}: a row has a wrapped key or a shredding date, not both")

    @property
    def state(self) -> BucketState:
        return BucketState.ACTIVE if self.shredded_at is None else BucketState.SHREDDED

    @property
    def bucket(self) -> Bucket:
        return Bucket(self.subject_id, self.retention_class, self.start_year)

    @property
    def name(self) -> str:
        return f"bucket key {self.bucket_id}#{self.generation}"


@dataclass(frozen=True)
class DataKeyRecord:
    key_id: bytes
    bucket_id: str
    generation: int
    wrapped_key: bytes


@dataclass(frozen=True)
class RotationResult:
    rewrapped: int
    skipped: int
    """Rows that changed while being re-wrapped (shredded, or re-wrapped by another run)."""


class KeyRepository(ABC):
    """Storage port for wrapped keys. It never sees a raw key.

    Implementations:
    - MUST keep every row, shredded ones included, and MUST NOT replace an existing bucket key
      or data key row except through ``shred_bucket_key``, ``move_data_key`` and
      ``rewrap_bucket_key``.
    - MUST, when shredding, destroy the wrapped key bytes in place (no copy kept in this
      repository, no history table) and keep the row with when, why and by whom.
    - MUST make ``add_data_keys``, ``move_data_key`` and ``rewrap_bucket_key`` atomic with their
      checks of the bucket row, so a key is never written under, or moved out of, a bucket key
      that was shredded meanwhile.
    """

    @abstractmethod
    def latest_bucket_key(self, bucket_id: str) -> BucketKeyRecord | None:
        """The bucket's row with the highest generation, shredded or not."""

    @abstractmethod
    def bucket_key(self, bucket_id: str, generation: int) -> BucketKeyRecord | None: ...

    @abstractmethod
    def add_bucket_key(self, record: BucketKeyRecord) -> BucketKeyRecord:
        """Insert ``record`` unless a row with its bucket id and generation exists; return the
        stored row. Two writers racing to create the same generation MUST both get the winner."""

    def latest_bucket_keys(self, bucket_ids: Sequence[str]) -> dict[str, BucketKeyRecord]:
        """``latest_bucket_key`` for many buckets; absent ones are left out. Implementations
        SHOULD answer in one round trip."""
        found = {b: self.latest_bucket_key(b) for b in bucket_ids}
        return {b: r for b, r in found.items() if r is not None}

    def add_bucket_keys(self, records: Sequence[BucketKeyRecord]) -> list[BucketKeyRecord]:
        """``add_bucket_key`` for many records, in order. Implementations SHOULD answer in
        one round trip."""
        return [self.add_bucket_key(r) for r in records]

    @abstractmethod
    def bucket_keys_of_subject(self, subject_id: str) -> list[BucketKeyRecord]:
        """Every generation of every bucket of one data subject, ordered by bucket and
        generation."""

    @abstractmethod
    def active_bucket_keys(
        self, retention_class: str, start_year_through: int, limit: int
    ) -> list[BucketKeyRecord]:
        """Active rows of one class with ``start_year <= start_year_through`` (for expiry)."""

    @abstractmethod
    def shred_bucket_key(
        self, bucket_id: str, generation: int, *, at: datetime, reason: str, by: str
    ) -> BucketKeyRecord:
        """Destroy the wrapped key and record the shredding. Shredding a shredded row MUST
        change nothing and return it. Raises KeyError for an unknown row."""

    @abstractmethod
    def add_data_keys(self, records: Sequence[DataKeyRecord]) -> None:
        """Insert new data keys. MUST refuse (KeyError) a key id that exists and MUST refuse
        (ContentErased) a bucket key row that is shredded, inserting none of ``records``."""

    @abstractmethod
    def data_key(self, key_id: bytes) -> DataKeyRecord | None: ...

    @abstractmethod
    def move_data_key(self, moved: DataKeyRecord, *, from_bucket: tuple[str, int]) -> bool:
        """Replace the data key row with ``moved`` (its new bucket, generation and wrapping)
        only if it is still under ``from_bucket`` and both bucket key rows are active; return
        whether it did. The old wrapping MUST NOT survive anywhere in this repository."""

    @abstractmethod
    def bucket_keys_to_rewrap(self, master_version: int, limit: int) -> list[BucketKeyRecord]:
        """Active rows wrapped under any master key version but ``master_version``."""

    @abstractmethod
    def rewrap_bucket_key(
        self, rewrapped: BucketKeyRecord, *, expected_master_version: int
    ) -> bool:
        """Replace the wrapped key and master version of the row only if it is active and
        still at ``expected_master_version``; return whether it did."""

    @abstractmethod
    def master_versions_in_use(self) -> dict[int, int]:
        """Number of active bucket key rows per master key version; an old master key may be
        destroyed once its version is absent."""


class MemoryKeyRepository(KeyRepository):
    """The repository in dictionaries, for tests and tools."""

    def __init__(self) -> None:
        self.bucket_rows: dict[tuple[str, int], BucketKeyRecord] = {}
        self.data_rows: dict[bytes, DataKeyRecord] = {}
        self._latest: dict[str, int] = {}

    def latest_bucket_key(self, bucket_id: str) -> BucketKeyRecord | None:
        generation = self._latest.get(bucket_id)
        return None if generation is None else self.bucket_rows[bucket_id, generation]

    def bucket_key(self, bucket_id: str, generation: int) -> BucketKeyRecord | None:
        return self.bucket_rows.get((bucket_id, generation))

    def add_bucket_key(self, record: BucketKeyRecord) -> BucketKeyRecord:
        stored = self.bucket_rows.setdefault((record.bucket_id, record.generation), record)
        latest = self._latest.get(record.bucket_id, -1)
        self._latest[record.bucket_id] = max(latest, record.generation)
        return stored

    def bucket_keys_of_subject(self, subject_id: str) -> list[BucketKeyRecord]:
        rows = (r for r in self.bucket_rows.values() if r.subject_id == subject_id)
        return sorted(rows, key=lambda r: (r.bucket_id, r.generation))

    def active_bucket_keys(
        self, retention_class: str, start_year_through: int, limit: int
    ) -> list[BucketKeyRecord]:
        rows = [
            r
            for r in self.bucket_rows.values()
            if r.state is BucketState.ACTIVE
            and r.retention_class == retention_class
            and r.start_year <= start_year_through
        ]
        return sorted(rows, key=lambda r: (r.bucket_id, r.generation))[:limit]

    def shred_bucket_key(
        self, bucket_id: str, generation: int, *, at: datetime, reason: str, by: str
    ) -> BucketKeyRecord:
        row = self.bucket_rows[bucket_id, generation]
        if row.state is BucketState.ACTIVE:
            row = replace(
                row, wrapped_key=None, shredded_at=at, shred_reason=reason, shredded_by=by
            )
            self.bucket_rows[bucket_id, generation] = row
        return row

    def add_data_keys(self, records: Sequence[DataKeyRecord]) -> None:
        for record in records:
            if record.key_id in self.data_rows:
                raise KeyError(f"data key {record.key_id.hex()} exists")
            self._require_active(record.bucket_id, record.generation)
        self.data_rows.update((r.key_id, r) for r in records)

    def data_key(self, key_id: bytes) -> DataKeyRecord | None:
        return self.data_rows.get(key_id)

    def move_data_key(self, moved: DataKeyRecord, *, from_bucket: tuple[str, int]) -> bool:
        current = self.data_rows.get(moved.key_id)
        if current is None or (current.bucket_id, current.generation) != from_bucket:
            return False
        if not all(
            self._is_active(b, g) for b, g in (from_bucket, (moved.bucket_id, moved.generation))
        ):
            return False
        self.data_rows[moved.key_id] = moved
        return True

    def bucket_keys_to_rewrap(self, master_version: int, limit: int) -> list[BucketKeyRecord]:
        rows = [
            r
            for r in self.bucket_rows.values()
            if r.state is BucketState.ACTIVE and r.master_version != master_version
        ]
        return sorted(rows, key=lambda r: (r.bucket_id, r.generation))[:limit]

    def rewrap_bucket_key(
        self, rewrapped: BucketKeyRecord, *, expected_master_version: int
    ) -> bool:
        key = (rewrapped.bucket_id, rewrapped.generation)
        row = self.bucket_rows.get(key)
        if row is None or row.state is not BucketState.ACTIVE:
            return False
        if row.master_version != expected_master_version:
            return False
        self.bucket_rows[key] = replace(
            row, wrapped_key=rewrapped.wrapped_key, master_version=rewrapped.master_version
        )
        return True

    def master_versions_in_use(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for row in self.bucket_rows.values():
            if row.state is BucketState.ACTIVE:
                counts[row.master_version] = counts.get(row.master_version, 0) + 1
        return counts

    def _is_active(self, bucket_id: str, generation: int) -> bool:
        row = self.bucket_rows.get((bucket_id, generation))
        return row is not None and row.state is BucketState.ACTIVE

    def _require_active(self, bucket_id: str, generation: int) -> None:
        row = self.bucket_rows[bucket_id, generation]
        _wrapped_key_of(row)


class KeyCache:
    """Bounded LRU of unwrapped bucket keys, keyed by (bucket id, generation). One cache may
    serve the short-lived KeyStores of many transactions.

    An entry is served only for the exact wrapped bytes it was unwrapped from: a key created in
    a transaction that rolled back, while another process stored a different key for the same
    generation, must never be used to wrap data keys.
    """

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, int], tuple[bytes, AESGCM]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int], wrapped: bytes) -> AESGCM | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != wrapped:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: tuple[str, int], wrapped: bytes, value: AESGCM) -> None:
        with self._lock:
            self._items[key] = (wrapped, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._items.pop(key, None)


class KeyStore:
    """Seals and opens personal content and manages the keys behind it.

    The bucket key row is read from the repository on every call, and a cached key is used only
    for a row that is active at that moment, so a key shredded by another process is never used.
    """

    def __init__(
        self,
        repository: KeyRepository,
        master_key: bytes,
        *,
        master_version: int = 1,
        older_master_keys: Mapping[int, bytes] | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache: KeyCache | None = None,
    ) -> None:
        self._repository = repository
        self._masters: dict[int, tuple[bytes, AESGCM]] = {}
        for version, key in {**(older_master_keys or {}), master_version: master_key}.items():
            self._masters[version] = (key, _master_cipher(key))
        self._version = master_version
        self._cache = cache if cache is not None else KeyCache(cache_size)

    def __repr__(self) -> str:
        return f"KeyStore(<master key v{self._version}>)"

    @property
    def master_version(self) -> int:
        return self._version

    def seal(self, subject_id: str, bucket: Bucket, plaintext: bytes, *, aad: bytes = b"") -> bytes:
        """Seal one entry's content under a new data key in ``bucket``."""
        return self.seal_many(subject_id, bucket, [plaintext], aad=aad)[0]

    def seal_many(
        self, subject_id: str, bucket: Bucket, plaintexts: Sequence[bytes], *, aad: bytes = b""
    ) -> list[bytes]:
        """Seal the fields of one entry under one new data key, so they are reclassified and
        shredded together. Pass a distinct ``aad`` per field (to ``seal``) if fields must not be
        swappable within the entry.

        Raises:
            SubjectMismatchError: ``bucket`` belongs to another subject.
        """
        if bucket.subject_id != subject_id:
            raise SubjectMismatchError(bucket.subject_id, subject_id)
        if not plaintexts:
            return []
        data_key, key_id = envelope.new_key(), envelope.new_key_id()
        for attempt in range(_CREATE_ATTEMPTS):
            record, bucket_cipher = self._active_bucket_key(bucket)
            wrap_aad = envelope.data_key_aad(key_id, record.bucket_id, record.generation)
            wrapped = envelope.wrap_key(bucket_cipher, data_key, wrap_aad)
            try:
                self._repository.add_data_keys(
                    [DataKeyRecord(key_id, record.bucket_id, record.generation, wrapped)]
                )
                break
            except ContentErased:
                # Shredded by another process since it was read: seal into the next generation.
                self._cache.drop((record.bucket_id, record.generation))
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
        content_cipher = envelope.cipher(data_key)
        return [
            envelope.seal_content(content_cipher, key_id, subject_id, p, aad) for p in plaintexts
        ]

    def batch(self) -> SealBatch:
        """A batch that seals many entries with one bucket look-up per round and one write
        of all their data keys (``flush``), for ingest's group commits."""
        return SealBatch(self)

    def unseal(self, subject_id: str, sealed: bytes, *, aad: bytes = b"") -> bytes:
        """Raises:
        ContentIntegrityError: malformed, altered, unknown data key, or another subject's.
        ContentErased: the bucket key was shredded (carries the date).
        KeyIntegrityError: the key store holds a key that does not unwrap.
        """
        content = envelope.SealedContent.from_bytes(sealed)
        data_row, bucket_row = self._rows_of(content.key_id)
        if bucket_row.subject_id != subject_id:
            raise ContentIntegrityError("sealed for another subject", content.key_id.hex())
        self._require_active(bucket_row)
        data_key = self._unwrap_data_key(data_row, bucket_row)
        return envelope.open_content(envelope.cipher(data_key), subject_id, content, aad)

    def bucket_of(self, data_key_id: bytes) -> BucketKeyRecord:
        """The bucket key row the data key is wrapped under now, shredded or not.

        Raises:
            UnknownDataKeyError: no such data key.
        """
        return self._rows_of(data_key_id)[1]

    def reclassify(self, data_key_id: bytes, new_bucket: Bucket) -> BucketKeyRecord:
        """Re-wrap one entry's data key under ``new_bucket``; its sealed bytes do not change.
        Returns the bucket key row it is under now.

        Raises:
            UnknownDataKeyError: no such data key.
            ContentErased: the entry's current bucket key was shredded.
            SubjectMismatchError: ``new_bucket`` belongs to another subject.
        """
        for _ in range(_CREATE_ATTEMPTS):
            data_row, old = self._rows_of(data_key_id)
            if old.subject_id != new_bucket.subject_id:
                raise SubjectMismatchError(old.subject_id, new_bucket.subject_id)
            self._require_active(old)
            if old.bucket_id == new_bucket.bucket_id:
                return old
            data_key = self._unwrap_data_key(data_row, old)
            new, new_cipher = self._active_bucket_key(new_bucket)
            aad = envelope.data_key_aad(data_key_id, new.bucket_id, new.generation)
            moved = DataKeyRecord(
                data_key_id,
                new.bucket_id,
                new.generation,
                envelope.wrap_key(new_cipher, data_key, aad),
            )
            if self._repository.move_data_key(moved, from_bucket=(old.bucket_id, old.generation)):
                return new
        raise ArchiveError(
            f"data key {data_key_id.hex()}: the key store changed under every attempt to move it"
        )

    def shred(
        self, bucket_id: str, *, reason: str, by: str, at: datetime
    ) -> BucketKeyRecord | None:
        """Destroy the bucket's active key, so every entry under it reads as erased on ``at``.
        Returns the shredded row (the earlier one if already shredded), or None if the bucket
        never had a key."""
        latest = self._repository.latest_bucket_key(bucket_id)
        if latest is None:
            return None
        shredded = self._repository.shred_bucket_key(
            bucket_id, latest.generation, at=at, reason=reason, by=by
        )
        self._cache.drop((bucket_id, latest.generation))
        return shredded

    def rotate_master(
        self, new_master_key: bytes, new_version: int, *, batch_size: int = DEFAULT_ROTATION_BATCH
    ) -> RotationResult:
        """Re-wrap every active bucket key under ``new_master_key``; from now on new bucket keys
        are wrapped under it too. Resumable: after an interruption, call again with the same key
        and version (on a new KeyStore, pass the old key in ``older_master_keys``).

        Raises:
            MasterKeyError: ``new_version`` is older than the current one or already names
                another key, or a bucket key is wrapped under a version that is not loaded.
        """
        if new_version < self._version:
            raise MasterKeyError(f"master key version {new_version} < current {self._version}")
        known = self._masters.get(new_version)
        if known is not None and not hmac.compare_digest(known[0], new_master_key):
            raise MasterKeyError(f"master key version {new_version} is already another key")
        self._masters[new_version] = (new_master_key, _master_cipher(new_master_key))
        self._version = new_version
        rewrapped = skipped = 0
        previous: list[tuple[str, int]] = []
        while batch := self._repository.bucket_keys_to_rewrap(new_version, batch_size):
            ids = [(r.bucket_id, r.generation) for r in batch]
            if ids == previous:
                raise MasterKeyError("the key repository returns the same rows after re-wrapping")
            previous = ids
            for row in batch:
                key = self._unwrap_bucket_key(row)
                new = replace(
                    row,
                    wrapped_key=self._wrap_bucket_key(key, row.bucket_id, row.generation),
                    master_version=new_version,
                )
                if self._repository.rewrap_bucket_key(
                    new, expected_master_version=row.master_version
                ):
                    rewrapped += 1
                else:
                    skipped += 1
        return RotationResult(rewrapped=rewrapped, skipped=skipped)

    def master_versions_in_use(self) -> dict[int, int]:
        return self._repository.master_versions_in_use()

    def _rows_of(self, key_id: bytes) -> tuple[DataKeyRecord, BucketKeyRecord]:
        data_row = self._repository.data_key(key_id)
        if data_row is None:
            raise UnknownDataKeyError(key_id.hex())
        bucket_row = self._repository.bucket_key(data_row.bucket_id, data_row.generation)
        if bucket_row is None:
            raise KeyIntegrityError(f"data key {key_id.hex()}", "its bucket key row is missing")
        return data_row, bucket_row

    def _require_active(self, row: BucketKeyRecord) -> None:
        if row.shredded_at is not None:
            self._cache.drop((row.bucket_id, row.generation))
        _wrapped_key_of(row)

    def _unwrap_data_key(self, data_row: DataKeyRecord, bucket_row: BucketKeyRecord) -> bytes:
        aad = envelope.data_key_aad(data_row.key_id, data_row.bucket_id, data_row.generation)
        return envelope.unwrap_key(
            self._bucket_cipher(bucket_row),
            data_row.wrapped_key,
            aad,
            name=f"data key {data_row.key_id.hex()}",
        )

    def _active_bucket_key(self, bucket: Bucket) -> tuple[BucketKeyRecord, AESGCM]:
        for _ in range(_CREATE_ATTEMPTS):
            row = self._repository.latest_bucket_key(bucket.bucket_id)
            if row is not None and row.state is BucketState.ACTIVE:
                return row, self._bucket_cipher(row)
            generation = 0 if row is None else row.generation + 1
            key = envelope.new_key()
            mine = BucketKeyRecord(
                bucket_id=bucket.bucket_id,
                generation=generation,
                subject_id=bucket.subject_id,
                retention_class=bucket.retention_class,
                start_year=bucket.start_year,
                wrapped_key=self._wrap_bucket_key(key, bucket.bucket_id, generation),
                master_version=self._version,
            )
            stored = self._repository.add_bucket_key(mine)
            if stored == mine:
                cipher = envelope.cipher(key)
                self._cache.put((bucket.bucket_id, generation), _wrapped_key_of(mine), cipher)
                return stored, cipher
        raise KeyIntegrityError(
            f"bucket {bucket.bucket_id}", "was shredded under every attempt to create a key"
        )

    def _bucket_cipher(self, row: BucketKeyRecord) -> AESGCM:
        slot, wrapped = (row.bucket_id, row.generation), _wrapped_key_of(row)
        cached = self._cache.get(slot, wrapped)
        if cached is None:
            cached = envelope.cipher(self._unwrap_bucket_key(row))
            self._cache.put(slot, wrapped, cached)
        return cached

    def _unwrap_bucket_key(self, row: BucketKeyRecord) -> bytes:
        wrapped = _wrapped_key_of(row)
        master = self._masters.get(row.master_version)
        if master is None:
            raise MasterKeyError(
                f"{row.name} is wrapped under master key version {row.master_version}, "
                "which is not loaded"
            )
        aad = envelope.bucket_key_aad(row.bucket_id, row.generation, row.master_version)
        return envelope.unwrap_key(master[1], wrapped, aad, name=row.name)

    def _wrap_bucket_key(self, key: bytes, bucket_id: str, generation: int) -> bytes:
        aad = envelope.bucket_key_aad(bucket_id, generation, self._version)
        return envelope.wrap_key(self._masters[self._version][1], key, aad)


class SealBatch:
    """Seals entries like ``KeyStore.seal_many``, but reads the buckets they need together
    (``prepare``) and writes their data keys together (``flush``). Sealed bytes are valid only
    once ``flush`` returned inside the same transaction; a batch is not shared between
    transactions."""

    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._buckets: dict[str, tuple[BucketKeyRecord, AESGCM]] = {}
        self._pending: list[DataKeyRecord] = []

    def prepare(self, buckets: Sequence[Bucket]) -> None:
        """Look up (and create where needed) the active key of every bucket at once."""
        wanted = {b.bucket_id: b for b in buckets if b.bucket_id not in self._buckets}
        if not wanted:
            return
        store = self._store
        latest = store._repository.latest_bucket_keys(list(wanted))
        fresh: list[tuple[BucketKeyRecord, bytes]] = []
        for bucket_id, bucket in wanted.items():
            row = latest.get(bucket_id)
            if row is not None and row.state is BucketState.ACTIVE:
                self._buckets[bucket_id] = (row, store._bucket_cipher(row))
                continue
            generation = 0 if row is None else row.generation + 1
            key = envelope.new_key()
            record = BucketKeyRecord(
                bucket_id=bucket_id,
                generation=generation,
                subject_id=bucket.subject_id,
                retention_class=bucket.retention_class,
                start_year=bucket.start_year,
                wrapped_key=store._wrap_bucket_key(key, bucket_id, generation),
                master_version=store._version,
            )
            fresh.append((record, key))
        stored = store._repository.add_bucket_keys([record for record, _ in fresh])
        for (mine, key), row in zip(fresh, stored, strict=True):
            if row == mine:
                cipher = envelope.cipher(key)
                store._cache.put((row.bucket_id, row.generation), _wrapped_key_of(row), cipher)
                self._buckets[row.bucket_id] = (row, cipher)
            else:
                self._buckets[row.bucket_id] = (row, store._bucket_cipher(row))

    def seal_many(
        self, subject_id: str, bucket: Bucket, plaintexts: Sequence[bytes], *, aad: bytes = b""
    ) -> list[bytes]:
        if bucket.subject_id != subject_id:
            raise SubjectMismatchError(bucket.subject_id, subject_id)
        if not plaintexts:
            return []
        self.prepare([bucket])
        record, bucket_cipher = self._buckets[bucket.bucket_id]
        data_key, key_id = envelope.new_key(), envelope.new_key_id()
        wrap_aad = envelope.data_key_aad(key_id, record.bucket_id, record.generation)
        wrapped = envelope.wrap_key(bucket_cipher, data_key, wrap_aad)
        self._pending.append(DataKeyRecord(key_id, record.bucket_id, record.generation, wrapped))
        content_cipher = envelope.cipher(data_key)
        return [
            envelope.seal_content(content_cipher, key_id, subject_id, p, aad) for p in plaintexts
        ]

    def flush(self) -> None:
        """Write the data keys sealed so far. Raises ContentErased if one of their buckets was
        shredded meanwhile (the caller's transaction must then roll back)."""
        if self._pending:
            self._store._repository.add_data_keys(self._pending)
            self._pending = []


def _master_cipher(master_key: bytes) -> AESGCM:
    if len(master_key) != MASTER_KEY_BYTES:
        raise MasterKeyError(f"a master key has {MASTER_KEY_BYTES} bytes, not {len(master_key)}")
    return envelope.cipher(derive_key(master_key, MASTER_WRAP_PURPOSE))


def _wrapped_key_of(row: BucketKeyRecord) -> bytes:
    """The row's wrapped key. Raises ContentErased if the row is shredded."""
    if row.shredded_at is not None or row.wrapped_key is None:
        raise ContentErased(row.shredded_at or datetime.min, row.bucket_id)
    return row.wrapped_key
