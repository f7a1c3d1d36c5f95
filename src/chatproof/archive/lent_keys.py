"""Sealing under a lent bucket key (DESIGN invariant 4), for a process that holds neither the
master key nor the database: an import's sealing process. The key store lends the unwrapped
key of each bucket the import needs (``SealBatch.lend``); the data keys made here come back
as rows, which the key store checks against the bucket's state and writes with the
transaction (``SealBatch.add_data_keys``).

The bytes are exactly ``KeyStore.seal_many``'s (a test opens them through the key store); what
differs is speed: the associated data is framed once per bucket instead of once per entry, and
the randomness of a whole batch (keys, key ids, nonces) is drawn in one call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive import envelope
from chatproof.archive.key_records import DataKeyRow

_KEY = envelope.KEY_BYTES
_NONCE = envelope.NONCE_BYTES
_RANDOM_ID = envelope.KEY_ID_BYTES - 6


@dataclass(frozen=True)
class LentBucket:
    """The active generation of one bucket's key, unwrapped: it seals, it is never stored."""

    bucket_id: str
    generation: int
    key: bytes = field(repr=False)


class EntrySealer:
    """Seals entries of one subject under one lent bucket key, each entry's fields under a
    data key of its own."""

    def __init__(self, subject_id: str, bucket: LentBucket) -> None:
        self.subject_id = subject_id
        self.bucket = bucket
        self._wrapper = envelope.cipher(bucket.key)
        # content_aad(subject, key_id) and data_key_aad(key_id, bucket, generation), split
        # around the key id, the only part that changes from entry to entry.
        marker = os.urandom(envelope.KEY_ID_BYTES)
        content = envelope.content_aad(subject_id, marker)
        wrap = envelope.data_key_aad(marker, bucket.bucket_id, bucket.generation)
        self._content_aad = content.split(marker)
        self._wrap_aad = wrap.split(marker)
        assert len(self._content_aad) == len(self._wrap_aad) == 2

    def seal(
        self, entries: Sequence[Sequence[bytes]]
    ) -> tuple[list[DataKeyRow], list[list[bytes]]]:
        """The data key rows and, per entry, its fields sealed (in the order given)."""
        fields = sum(len(e) for e in entries)
        per_entry = _KEY + _RANDOM_ID + _NONCE
        random = os.urandom(per_entry * len(entries) + _NONCE * fields)
        stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
        content_head, content_tail = self._content_aad
        wrap_head, wrap_tail = self._wrap_aad
        wrap = self._wrapper.encrypt
        bucket_id, generation = self.bucket.bucket_id, self.bucket.generation
        version = b"\x01"
        keys: list[DataKeyRow] = []
        sealed: list[list[bytes]] = []
        at = 0
        for plaintexts in entries:
            data_key = random[at : at + _KEY]
            key_id = stamp + random[at + _KEY : at + _KEY + _RANDOM_ID]
            nonce = random[at + _KEY + _RANDOM_ID : at + per_entry]
            at += per_entry
            wrapped = version + nonce + wrap(nonce, data_key, wrap_head + key_id + wrap_tail)
            keys.append((key_id, bucket_id, generation, wrapped))
            encrypt = AESGCM(data_key).encrypt
            associated = content_head + key_id + content_tail
            header = version + key_id
            out = []
            for plaintext in plaintexts:
                nonce = random[at : at + _NONCE]
                at += _NONCE
                out.append(header + nonce + encrypt(nonce, plaintext, associated))
            sealed.append(out)
        return keys, sealed
