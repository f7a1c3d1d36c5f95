"""The rows of the key store as the archive sees them: one generation of a bucket key, one
data key, and the outcome of a master key rotation (DESIGN invariant 4). Keys in them are always
wrapped; a shredded bucket key row keeps only when, why and by whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from chatproof.archive.errors import ContentErased
from chatproof.archive.retention import Bucket


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


class DataKeyRecord(NamedTuple):
    """(A named tuple: an import makes one per message, and sends them between processes.)"""

    key_id: bytes
    bucket_id: str
    generation: int
    wrapped_key: bytes


DataKeyRow = tuple[bytes, str, int, bytes]
"""A data key's fields in ``DataKeyRecord`` order (a record is one): an import writes one per
message, and a plain tuple costs a fraction of a named one to build."""


@dataclass(frozen=True)
class RotationResult:
    rewrapped: int
    skipped: int
    """Rows that changed while being re-wrapped (shredded, or re-wrapped by another run)."""


def wrapped_key_of(row: BucketKeyRecord) -> bytes:
    """The row's wrapped key. Raises ContentErased if the row is shredded."""
    if row.shredded_at is not None or row.wrapped_key is None:
        raise ContentErased(row.shredded_at or datetime.min, row.bucket_id)
    return row.wrapped_key
