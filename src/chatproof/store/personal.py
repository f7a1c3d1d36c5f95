"""The one way personal content enters and leaves the database (DESIGN invariant 4).

Every text, name, number, raw payload and file name is sealed here before it is written and
opened here after it is read. Sealing uses the key hierarchy of ``chatproof.archive``: the
fields of one entry share one data key, wrapped by the bucket key of its data subject,
retention class and start year (counted in the business's time zone). Once that bucket is
shredded, reads say when the content was erased instead of failing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from chatproof.archive.entry_sealing import NewDataKey
from chatproof.archive.errors import ContentErased
from chatproof.archive.keystore import KeyCache, KeyRepository, KeyStore
from chatproof.archive.log import EntryDraft
from chatproof.archive.retention import Bucket, start_year_for

SYSTEM_SUBJECT = "system"
"""Subject of content that belongs to no single person, such as account notices."""


class Sealer(ABC):
    """Contract: ``unseal(s, x)`` for each ``x`` of ``seal_many(s, items, at)`` MUST return
    the corresponding item exactly, until the bucket ``at`` fell into is shredded; then it
    MUST raise ``ContentErased``. New content goes into ``retention_class`` unless the caller
    names another (a conversation reclassified as booking vouchers), its start year counted in
    ``tz``."""

    retention_class: str
    tz: ZoneInfo

    @abstractmethod
    def seal_many(
        self,
        subject_id: str,
        items: Sequence[bytes],
        at: datetime,
        retention_class: str | None = None,
    ) -> list[bytes]: ...

    @abstractmethod
    def unseal(self, subject_id: str, sealed: bytes) -> bytes: ...

    @abstractmethod
    def prepare(self, items: Iterable[tuple[str, datetime]]) -> None:
        """A hint: content of these subjects at these times is about to be sealed."""

    def prefetch(self, sealed: Iterable[bytes | None]) -> None:  # noqa: B027 - a hint
        """A hint: these sealed values are about to be opened."""

    @abstractmethod
    def flush(self) -> None:
        """Make everything sealed so far durable with the transaction; called before commit."""

    @abstractmethod
    def wrap_data_keys(self, subject_id: str, start_year: int, keys: Sequence[NewDataKey]) -> None:
        """Wrap data keys of content sealed elsewhere (``entry_sealing``) under the subject's
        bucket for that start year (in ``retention_class``); ``flush`` makes them durable."""


class KeyStoreSealer(Sealer):
    """Seals through one ``SealBatch`` per transaction: buckets are looked up together
    (``prepare``) and data keys written together (``flush``, before commit)."""

    def __init__(self, keys: KeyStore, retention_class: str, tz: ZoneInfo) -> None:
        self.keys = keys
        self.retention_class = retention_class
        self.tz = tz
        self._batch = keys.batch()
        self._buckets: dict[tuple[str, str, int], Bucket] = {}

    def bucket(self, subject_id: str, at: datetime, retention_class: str | None = None) -> Bucket:
        return self._bucket(
            subject_id, retention_class or self.retention_class, start_year_for(at, self.tz)
        )

    def _bucket(self, subject_id: str, retention_class: str, start_year: int) -> Bucket:
        key = (subject_id, retention_class, start_year)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(*key)
        return bucket

    def prepare(self, items: Iterable[tuple[str, datetime]]) -> None:
        self._batch.prepare([self.bucket(subject, at) for subject, at in items])

    def seal_many(
        self,
        subject_id: str,
        items: Sequence[bytes],
        at: datetime,
        retention_class: str | None = None,
    ) -> list[bytes]:
        bucket = self.bucket(subject_id, at, retention_class)
        return self._batch.seal_many(subject_id, bucket, items)

    def flush(self) -> None:
        self._batch.flush()

    def wrap_data_keys(self, subject_id: str, start_year: int, keys: Sequence[NewDataKey]) -> None:
        self._batch.wrap_data_keys(self._bucket(subject_id, self.retention_class, start_year), keys)

    def prefetch(self, sealed: Iterable[bytes | None]) -> None:
        self.keys.prefetch(sealed)

    def unseal(self, subject_id: str, sealed: bytes) -> bytes:
        return self.keys.unseal(subject_id, sealed)


@dataclass(frozen=True)
class Readable:
    """Opened text, or the date it was erased on."""

    text: str
    erased_at: datetime | None = None


class PersonalContent:
    """Text-aware front of a ``Sealer``: empty values are stored as NULL."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def prepare(self, items: Iterable[tuple[str, datetime]]) -> None:
        self.sealer.prepare(items)

    def prefetch(self, sealed: Iterable[bytes | None]) -> None:
        """Read the keys of values about to be opened together, not one by one."""
        self.sealer.prefetch(sealed)

    def entry(
        self,
        kind: str,
        subject_id: str,
        at: datetime,
        *,
        platform_id_hash: str | None = None,
        content: bytes | None = None,
        retention_class: str | None = None,
        **attributes: object,
    ) -> EntryDraft:
        """A log entry in the retention bucket that content sealed at ``at`` goes into, so the
        entry and its ciphertext share retention class and start year."""
        return EntryDraft(
            kind=kind,
            at=at,
            retention_class=retention_class or self.sealer.retention_class,
            start_year=start_year_for(at, self.sealer.tz),
            subject_id=subject_id,
            platform_id_hash=platform_id_hash,
            content=content,
            attributes={k: v for k, v in attributes.items() if v is not None},
        )

    def seal_fields(
        self,
        subject_id: str,
        values: Sequence[str | bytes | None],
        at: datetime,
        retention_class: str | None = None,
    ) -> list[bytes | None]:
        """Seal the fields of one entry together; empty ones stay NULL."""
        present = [i for i, v in enumerate(values) if v]
        sealed = self.sealer.seal_many(
            subject_id,
            [_raw(values[i]) for i in present],  # type: ignore[arg-type]
            at,
            retention_class,
        )
        out: list[bytes | None] = [None] * len(values)
        for i, item in zip(present, sealed, strict=True):
            out[i] = item
        return out

    def seal_bytes(self, subject_id: str, data: bytes, at: datetime) -> bytes:
        return self.sealer.seal_many(subject_id, [data], at)[0]

    def seal_text(self, subject_id: str, text: str | None, at: datetime) -> bytes | None:
        return self.seal_bytes(subject_id, text.encode(), at) if text else None

    def unseal_bytes(self, subject_id: str, sealed: bytes) -> bytes:
        """Raises ContentErased once the content's bucket is shredded."""
        return self.sealer.unseal(subject_id, sealed)

    def unseal_text(self, subject_id: str, sealed: bytes | None) -> str:
        """Raises ContentErased once the content's bucket is shredded."""
        return self.sealer.unseal(subject_id, sealed).decode() if sealed else ""

    def read_text(self, subject_id: str, sealed: bytes | None) -> Readable:
        try:
            return Readable(self.unseal_text(subject_id, sealed))
        except ContentErased as erased:
            return Readable("", erased.shredded_at)


def _raw(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@dataclass(frozen=True)
class SealingPolicy:
    """How content is sealed: the master key, the retention class new content gets, the time
    zone its start year is counted in, and a key cache shared by all transactions."""

    master_key: bytes = field(repr=False)
    retention_class: str = "business_letter"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))
    cache: KeyCache = field(default_factory=KeyCache, repr=False)

    def keystore(self, repository: KeyRepository) -> KeyStore:
        return KeyStore(repository, self.master_key, cache=self.cache)

    def personal(self, keystore: KeyStore) -> PersonalContent:
        return PersonalContent(KeyStoreSealer(keystore, self.retention_class, self.timezone))
