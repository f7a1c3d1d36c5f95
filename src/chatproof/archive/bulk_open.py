"""Opening many sealed values at once (DESIGN invariant 4), for exports that read the whole
archive: the key rows of a batch are read together by the caller and handed in, so opening a
value costs two AES-GCM operations and no database round trip.

Unlike ``KeyStore.unseal``, which reads the bucket row again on every call so that a key
shredded by another process is never used, the rows here are as of the caller's read
transaction: an export sees one consistent snapshot of content and keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive import envelope
from chatproof.archive.errors import ContentErased, ContentIntegrityError, UnknownDataKeyError
from chatproof.archive.key_records import BucketKeyRecord, DataKeyRecord
from chatproof.archive.keystore import KeyStore


class BulkOpener:
    """Opens sealed values whose data key and bucket rows were ``add``-ed before."""

    def __init__(self, keystore: KeyStore) -> None:
        self._keystore = keystore
        self._data: dict[bytes, DataKeyRecord] = {}
        self._buckets: dict[tuple[str, int], BucketKeyRecord] = {}
        self._ciphers: dict[tuple[str, int], AESGCM] = {}

    def add(
        self, data_rows: Iterable[DataKeyRecord], bucket_rows: Iterable[BucketKeyRecord]
    ) -> None:
        for row in data_rows:
            self._data[row.key_id] = row
        for bucket in bucket_rows:
            self._buckets[bucket.bucket_id, bucket.generation] = bucket

    def forget_data_keys(self) -> None:
        """Drop the data key rows of the last batch, so memory stays flat over a long export."""
        self._data.clear()

    def known_buckets(self) -> set[tuple[str, int]]:
        return set(self._buckets)

    def bucket(self, sealed: bytes) -> BucketKeyRecord:
        """The bucket row the value's data key is under.

        Raises:
            UnknownDataKeyError: its data key row was not added.
        """
        data = self._data.get(bytes(sealed[1 : 1 + envelope.KEY_ID_BYTES]))
        if data is None:
            raise UnknownDataKeyError(bytes(sealed[1 : 1 + envelope.KEY_ID_BYTES]).hex())
        return self._buckets[data.bucket_id, data.generation]

    def open(self, subject_id: str, sealed: bytes) -> bytes:
        """Raises:
        ContentErased: the bucket key was shredded.
        ContentIntegrityError: altered, unknown data key, or another subject's.
        """
        content = envelope.SealedContent.from_bytes(sealed)
        data = self._data.get(content.key_id)
        if data is None:
            raise UnknownDataKeyError(content.key_id.hex())
        slot = (data.bucket_id, data.generation)
        bucket = self._buckets[slot]
        if bucket.subject_id != subject_id:
            raise ContentIntegrityError("sealed for another subject", content.key_id.hex())
        if bucket.shredded_at is not None:
            raise ContentErased(bucket.shredded_at, bucket.bucket_id)
        cipher = self._ciphers.get(slot)
        if cipher is None:
            # The key store owns unwrapping under the master key (and its versions).
            cipher = self._ciphers[slot] = self._keystore._bucket_cipher(bucket)
        data_key = envelope.unwrap_key(
            cipher,
            data.wrapped_key,
            envelope.data_key_aad(content.key_id, data.bucket_id, data.generation),
            name=f"data key {content.key_id.hex()}",
        )
        return envelope.open_content(envelope.cipher(data_key), subject_id, content)
