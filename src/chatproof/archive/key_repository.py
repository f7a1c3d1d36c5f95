"""Where wrapped keys are kept: the storage port of the key store, with its contract, and an
implementation in dictionaries for tests and tools (DESIGN invariant 4). The SQL one lives in
``chatproof.store.keys``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from chatproof.archive.envelope import data_key_id
from chatproof.archive.errors import ArchiveError
from chatproof.archive.key_records import (
    BucketKeyRecord,
    BucketState,
    DataKeyRecord,
    DataKeyRow,
    wrapped_key_of,
)


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

    def prefetch(self, key_ids: Sequence[bytes]) -> None:  # noqa: B027 - an optional hint
        """A hint: these data keys (and their buckets) are about to be read. Implementations
        whose reads cost a round trip SHOULD read them together here."""

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
        self,
        retention_class: str,
        start_year_through: int,
        limit: int,
        *,
        after: tuple[str, int] | None = None,
    ) -> list[BucketKeyRecord]:
        """Active rows of one class with ``start_year <= start_year_through`` (for expiry),
        ordered by bucket id and generation, starting after the row ``after`` names."""

    @abstractmethod
    def shred_bucket_key(
        self, bucket_id: str, generation: int, *, at: datetime, reason: str, by: str
    ) -> BucketKeyRecord:
        """Destroy the wrapped key and record the shredding. Shredding a shredded row MUST
        change nothing and return it. Raises KeyError for an unknown row."""

    @abstractmethod
    def add_data_keys(self, records: Sequence[DataKeyRow]) -> None:
        """Insert new data keys. MUST refuse (KeyError) a key id that exists and MUST refuse
        (ContentErased) a bucket key row that is shredded, inserting none of ``records``."""

    @abstractmethod
    def data_key(self, key_id: bytes) -> DataKeyRecord | None: ...

    def bucket_of_sealed(self, sealed: bytes | None) -> BucketKeyRecord | None:
        """The bucket key row a sealed value's data key is wrapped under now (its retention
        class, whether it was shredded), or None for a value that is no sealed content or whose
        key is unknown. Reads no key material."""
        if not sealed:
            return None
        try:
            data = self.data_key(data_key_id(bytes(sealed)))
        except ArchiveError:
            return None
        return self.bucket_key(data.bucket_id, data.generation) if data else None

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
        self,
        retention_class: str,
        start_year_through: int,
        limit: int,
        *,
        after: tuple[str, int] | None = None,
    ) -> list[BucketKeyRecord]:
        rows = [
            r
            for r in self.bucket_rows.values()
            if r.state is BucketState.ACTIVE
            and r.retention_class == retention_class
            and r.start_year <= start_year_through
            and (after is None or (r.bucket_id, r.generation) > after)
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

    def add_data_keys(self, records: Sequence[DataKeyRow]) -> None:
        for key_id, bucket_id, generation, _ in records:
            if key_id in self.data_rows:
                raise KeyError(f"data key {key_id.hex()} exists")
            self._require_active(bucket_id, generation)
        self.data_rows.update((r[0], DataKeyRecord(*r)) for r in records)

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
        wrapped_key_of(row)
