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

Rows, storage port and cache live in ``key_records``, ``key_repository``, ``key_cache``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive import envelope
from chatproof.archive.entry_sealing import NewDataKey, wrap_data_keys
from chatproof.archive.errors import (
    ArchiveError,
    ContentErased,
    ContentIntegrityError,
    KeyIntegrityError,
    MasterKeyError,
    SubjectMismatchError,
    UnknownDataKeyError,
)
from chatproof.archive.key_cache import DEFAULT_CACHE_SIZE, KeyCache
from chatproof.archive.key_records import (
    BucketKeyRecord,
    BucketState,
    DataKeyRecord,
    DataKeyRow,
    RotationResult,
    wrapped_key_of,
)
from chatproof.archive.key_repository import KeyRepository, MemoryKeyRepository
from chatproof.archive.keyfiles import MASTER_KEY_BYTES, derive_key
from chatproof.archive.retention import Bucket

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_ROTATION_BATCH",
    "MASTER_WRAP_PURPOSE",
    "BucketKeyRecord",
    "BucketState",
    "DataKeyRecord",
    "KeyCache",
    "KeyRepository",
    "KeyStore",
    "MemoryKeyRepository",
    "RotationResult",
    "SealBatch",
]

DEFAULT_ROTATION_BATCH = 500
MASTER_WRAP_PURPOSE = "bucket-key-wrap"
_CREATE_ATTEMPTS = 3


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
        return envelope.seal_contents(content_cipher, key_id, subject_id, plaintexts, aad)

    def batch(self) -> SealBatch:
        """A batch that seals many entries with one bucket look-up per round and one write
        of all their data keys (``flush``), for ingest's group commits."""
        return SealBatch(self)

    def prefetch(self, sealed: Iterable[bytes | None]) -> None:
        """Read the keys of many sealed values at once, before opening them one by one (a
        page of a thread, a batch of messages to react to); malformed values are skipped
        here and named when opened."""
        key_ids = []
        for value in sealed:
            if value:
                try:
                    key_ids.append(envelope.SealedContent.from_bytes(value).key_id)
                except ContentIntegrityError:
                    continue
        self._repository.prefetch(key_ids)

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
        self,
        new_master_key: bytes,
        new_version: int,
        *,
        batch_size: int = DEFAULT_ROTATION_BATCH,
        limit: int | None = None,
    ) -> RotationResult:
        """Re-wrap every active bucket key (at most about ``limit``, whole batches) under
        ``new_master_key``; from now on new bucket keys are wrapped under it too. Resumable:
        after an interruption, or to go on after ``limit``, call again with the same key and
        version (on a new KeyStore, pass the old key in ``older_master_keys``).

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
            if limit is not None and rewrapped + skipped >= limit:
                break
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
        wrapped_key_of(row)

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
            mine, key = self._new_bucket_key(bucket, 0 if row is None else row.generation + 1)
            stored = self._repository.add_bucket_key(mine)
            if stored == mine:
                cipher = envelope.cipher(key)
                self._cache.put((mine.bucket_id, mine.generation), wrapped_key_of(mine), cipher)
                return stored, cipher
        raise KeyIntegrityError(
            f"bucket {bucket.bucket_id}", "was shredded under every attempt to create a key"
        )

    def _new_bucket_key(self, bucket: Bucket, generation: int) -> tuple[BucketKeyRecord, bytes]:
        """A fresh key for one generation of ``bucket``: the row to store and the raw key."""
        key = envelope.new_key()
        record = BucketKeyRecord(
            bucket_id=bucket.bucket_id,
            generation=generation,
            subject_id=bucket.subject_id,
            retention_class=bucket.retention_class,
            start_year=bucket.start_year,
            wrapped_key=self._wrap_bucket_key(key, bucket.bucket_id, generation),
            master_version=self._version,
        )
        return record, key

    def _bucket_cipher(self, row: BucketKeyRecord) -> AESGCM:
        slot, wrapped = (row.bucket_id, row.generation), wrapped_key_of(row)
        cached = self._cache.get(slot, wrapped)
        if cached is None:
            cached = envelope.cipher(self._unwrap_bucket_key(row))
            self._cache.put(slot, wrapped, cached)
        return cached

    def _unwrap_bucket_key(self, row: BucketKeyRecord) -> bytes:
        wrapped = wrapped_key_of(row)
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
        self._pending: list[DataKeyRow] = []

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
            fresh.append(store._new_bucket_key(bucket, 0 if row is None else row.generation + 1))
        stored = store._repository.add_bucket_keys([record for record, _ in fresh])
        for (mine, key), row in zip(fresh, stored, strict=True):
            if row == mine:
                cipher = envelope.cipher(key)
                store._cache.put((row.bucket_id, row.generation), wrapped_key_of(row), cipher)
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
        return envelope.seal_contents(content_cipher, key_id, subject_id, plaintexts, aad)

    def wrap_data_keys(self, bucket: Bucket, keys: Sequence[NewDataKey]) -> None:
        """Wrap data keys made elsewhere (``entry_sealing``) under the bucket's key; they are
        written with the others by ``flush``."""
        self.prepare([bucket])
        record, cipher = self._buckets[bucket.bucket_id]
        self._pending += wrap_data_keys(cipher, record.bucket_id, record.generation, keys)

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
