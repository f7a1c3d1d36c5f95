"""Opening many sealed values at once (DESIGN invariant 4), for exports that read the whole
archive: the key rows of a batch are read together by the caller and handed in, so opening a
value costs two AES-GCM operations and no database round trip.

Unlike ``KeyStore.unseal``, which reads the bucket row again on every call so that a key
shredded by another process is never used, the rows here are as of the caller's read
transaction: an export sees one consistent snapshot of content and keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive import envelope
from chatproof.archive.errors import (
    ContentErased,
    ContentIntegrityError,
    KeyIntegrityError,
    UnknownDataKeyError,
)
from chatproof.archive.key_records import BucketKeyRecord, DataKeyRecord
from chatproof.archive.keystore import KeyStore


class BulkOpener:
    """Opens sealed values whose data key and bucket rows were ``add``-ed before."""

    def __init__(self, keystore: KeyStore) -> None:
        self._keystore = keystore
        self._data: dict[bytes, DataKeyRecord] = {}
        self._buckets: dict[tuple[str, int], BucketKeyRecord] = {}
        self._ciphers: dict[tuple[str, int], tuple[AESGCM, bytes, bytes]] = {}
        self._subjects: dict[str, tuple[bytes, bytes]] = {}

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
        key_id = bytes(sealed[1:_HEADER_KEY_END])
        data = self._data.get(key_id)
        if data is None:
            raise UnknownDataKeyError(key_id.hex())
        return self._buckets[data.bucket_id, data.generation]

    def bucket_and_open(
        self, subject_id: str, sealed: bytes
    ) -> tuple[BucketKeyRecord, bytes | None]:
        """The value's bucket row and its plaintext, None if the bucket was shredded: an
        export reads both for every row.

        Raises:
            ContentIntegrityError: altered, unknown data key, or another subject's.
        """
        return self._open(subject_id, sealed, erased_ok=True)

    def open(self, subject_id: str, sealed: bytes) -> bytes:
        """Raises:
        ContentErased: the bucket key was shredded.
        ContentIntegrityError: altered, unknown data key, or another subject's.
        """
        return self._open(subject_id, sealed, erased_ok=False)[1]  # type: ignore[return-value]

    def _open(
        self, subject_id: str, sealed: bytes, *, erased_ok: bool
    ) -> tuple[BucketKeyRecord, bytes | None]:
        if len(sealed) < envelope.SEALED_OVERHEAD or sealed[0] != envelope.FORMAT_VERSION:
            envelope.SealedContent.from_bytes(sealed)  # raises with the reason
        key_id = bytes(sealed[1:_HEADER_KEY_END])
        data = self._data.get(key_id)
        if data is None:
            raise UnknownDataKeyError(key_id.hex())
        slot = (data.bucket_id, data.generation)
        bucket = self._buckets[slot]
        if bucket.subject_id != subject_id:
            raise ContentIntegrityError("sealed for another subject", key_id.hex())
        if bucket.shredded_at is not None:
            if erased_ok:
                return bucket, None
            raise ContentErased(bucket.shredded_at, bucket.bucket_id)
        unwrap = self._ciphers.get(slot)
        if unwrap is None:
            # The key store owns unwrapping under the master key (and its versions).
            cipher = self._keystore._bucket_cipher(bucket)
            unwrap = self._ciphers[slot] = (cipher, *_data_key_aad_parts(slot))
        cipher, aad_head, aad_tail = unwrap
        wrapped = data.wrapped_key
        if len(wrapped) != envelope.WRAPPED_KEY_BYTES or wrapped[0] != envelope.WRAP_VERSION:
            raise KeyIntegrityError(f"data key {key_id.hex()}", "not a version-1 wrapped key")
        try:
            data_key = cipher.decrypt(
                wrapped[1 : 1 + envelope.NONCE_BYTES],
                wrapped[1 + envelope.NONCE_BYTES :],
                aad_head + key_id + aad_tail,
            )
        except InvalidTag:
            raise KeyIntegrityError(
                f"data key {key_id.hex()}", "authentication failed: the stored row was altered"
            ) from None
        parts = self._subjects.get(subject_id)
        if parts is None:
            parts = self._subjects[subject_id] = _content_aad_parts(subject_id)
        try:
            return bucket, AESGCM(data_key).decrypt(
                sealed[_HEADER_KEY_END : envelope.HEADER_BYTES],
                sealed[envelope.HEADER_BYTES :],
                parts[0] + key_id + parts[1],
            )
        except InvalidTag:
            raise ContentIntegrityError(
                "authentication failed: altered, or sealed for another subject or context",
                key_id.hex(),
            ) from None


_HEADER_KEY_END = 1 + envelope.KEY_ID_BYTES
_PROBE = b"\xa5" * envelope.KEY_ID_BYTES


def _content_aad_parts(subject_id: str) -> tuple[bytes, bytes]:
    """``envelope.content_aad`` split around the data key id, which is all that changes from
    one value of a subject to the next (its format stays defined in ``envelope``)."""
    return _split_around_probe(envelope.content_aad(subject_id, _PROBE))


def _data_key_aad_parts(slot: tuple[str, int]) -> tuple[bytes, bytes]:
    return _split_around_probe(envelope.data_key_aad(_PROBE, *slot))


def _split_around_probe(aad: bytes) -> tuple[bytes, bytes]:
    at = aad.index(_PROBE)
    return aad[:at], aad[at + len(_PROBE) :]
